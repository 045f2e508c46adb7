// The data-reader fuzz targets' common step: a DataModule on the scratch file(s), every batch of
// every split read.
#pragma once

#include "chop/data/data_module.h"

namespace chop::fuzz {

inline void read_every_batch(const chop::data::DataOptions& o) {
  chop::data::DataModule dm(o);
  (void)dm.summary();
  for (auto kind : {chop::data::SplitKind::train, chop::data::SplitKind::val, chop::data::SplitKind::test})
    for (const auto& batch : dm.batches(kind)) (void)batch.x.sum().item<float>();
}

}  // namespace chop::fuzz
