// RawData: what a loader hands to the DataModule before splitting and normalization.
#pragma once

#include <torch/torch.h>

#include "chop/data/data_options.h"

namespace chop::data {

/// A loaded data set before splitting. Image loaders give uint8 pixels [N,C,H,W] (converted to
/// [0,1] floats by the DataModule after splitting, which keeps the split cheap); tabular loaders
/// give float32 [N,F]. Labels are int64 [N] in [0, num_classes).
struct RawData {
  DatasetInfo info;
  torch::Tensor train_x, train_y;  ///< the training part, or the whole pool when test_x is undefined
  torch::Tensor test_x, test_y;    ///< undefined: split the pool 80/20 with options.split_seed
  bool drop_duplicates = false;    ///< drop duplicate (features, label) rows before splitting
  std::string source;              ///< file or directory read, for messages
};

}  // namespace chop::data
