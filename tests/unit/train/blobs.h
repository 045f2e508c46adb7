// Test data for training: Gaussian blobs, one per class in 16-D, learnable in a few epochs.
#pragma once

#include "chop/data/data_module.h"

namespace chop::testing {

inline data::DataModule blobs(int64_t n = 2000) {
  torch::manual_seed(0);
  data::RawData raw;
  raw.info.name = "blobs";
  raw.info.input_shape = {16};
  raw.info.num_classes = 5;
  raw.train_y = torch::randint(0, 5, {n}, torch::kInt64);
  auto centers = torch::randn({5, 16}) * 2;
  raw.train_x = centers.index_select(0, raw.train_y) + torch::randn({n, 16});
  data::DataOptions o;
  o.dataset = "blobs";
  o.batch_size = 64;
  return data::DataModule(std::move(raw), o);
}

}  // namespace chop::testing
