// The data set registry: every data set listed once with its name, description and factory.
#pragma once

#include <string>
#include <vector>

#include "chop/data/data_options.h"

namespace chop::data {

struct RawData;

/// One registered data set. info() answers from options alone where the data set has a fixed
/// shape (it reads the file only for `csv`, whose shape is the file's); load() reads the data.
struct DatasetEntry {
  const char* name;
  const char* description;
  DatasetInfo (*info)(const DataOptions& options);
  RawData (*load)(const DataOptions& options);
};

/// Every data set, in listing order.
const std::vector<DatasetEntry>& dataset_registry();

/// Registered names, in listing order.
std::vector<std::string> dataset_names();

/// The entry named name; throws ConfigError listing the known names when there is none.
const DatasetEntry& find_dataset(const std::string& name);

/// Input shape (no batch dim), classes and names of options.dataset without loading the data.
/// Throws ConfigError for an unknown name (and DataError for an unreadable `csv` file).
DatasetInfo dataset_info(const DataOptions& options);

/// Shorthand for dataset_info with default options and the given name.
DatasetInfo dataset_info(const std::string& name);

/// The directory or file options.dataset will be read from (defaults applied), for messages.
std::string data_location(const DataOptions& options);

/// Default directories / file of the built-in data sets.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";
inline constexpr const char* kMnistDir = "/usr/share/datasets/mnist";
inline constexpr const char* kCifar10Dir = "data/cifar-10-batches-bin";
inline constexpr const char* kJscDir = "data/jsc";
inline constexpr const char* kJscMaseFile =
    "processed-pythia82-lhc13-all-pt1-50k-r1_h022_e0175_t220_nonu_truth.z";
inline constexpr const char* kJscOpenmlFile = "hls4ml_lhc_jets_hlf.csv";

}  // namespace chop::data
