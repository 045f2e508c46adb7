// Data options (what to load and how to batch it) and dataset info (shapes, classes).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace chop::data {

/// Everything that selects and shapes a data set. Defaults are the ones `chop train` uses.
struct DataOptions {
  std::string dataset = "fashion-mnist";  ///< registry name, see dataset_names()
  std::string data_path;                  ///< one file (jsc, csv); empty = dataset default
  std::string data_dir;                   ///< a directory (mnist, fashion-mnist, cifar10, jsc)
  int64_t batch_size = 128;
  uint64_t seed = 0;         ///< per-epoch shuffling of the training split
  uint64_t split_seed = 42;  ///< train/test (tabular) and train/val split; fixed so runs compare
  double val_fraction = 0.1; ///< share of the training part carved out as validation
  int64_t num_samples = 0;   ///< > 0: cap every split at this many rows (quick runs)
  int64_t num_workers = 0;   ///< accepted for MASE compatibility; ignored (data is in memory)
  bool normalize = true;     ///< standardize with statistics of the training split
  std::vector<double> mean;  ///< fixed mean (1 value or one per channel/feature); empty = fit
  std::vector<double> stddev; ///< fixed standard deviation, same rule as mean
  std::string label_column = "label";  ///< csv: name of the label column
  bool drop_last = false;    ///< drop the last, smaller training batch
};

/// What a model needs to know about a data set; available without loading the data.
struct DatasetInfo {
  std::string name;
  std::vector<int64_t> input_shape;  ///< one sample, no batch dim: {16}, {1,28,28}, {3,32,32}
  int64_t num_classes = 0;
  std::vector<std::string> class_names;
  std::vector<std::string> feature_names;  ///< tabular data sets only
};

}  // namespace chop::data
