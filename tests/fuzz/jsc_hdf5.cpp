// Fuzz target `jsc_hdf5`: MASE's JSC HDF5 file through the data module, as `chop train MODEL
// jsc --data-path FILE.h5` reads it: the HDF5 signature check, read_jsc_hdf5 (dataset
// t_allpar_new, its compound fields by name, one-hot labels), duplicate dropping and the 80/20
// split. HDF5's own error printing is silenced by the reader (H5Eset_auto2).
#include <cstdint>
#include <string>

#include "chop/data/data_module.h"
#include "chop/data/jsc_table.h"
#include "chop/support/error.h"
#include "fuzz_util.h"

namespace {

void run(const uint8_t* data, size_t size) {
  const std::string path = chop::fuzz::write_scratch("jsc.h5", data, size);
  chop::data::DataOptions o;
  o.dataset = "jsc";
  o.data_path = path;
  o.batch_size = 4;
  chop::data::DataModule dm(o);
  (void)dm.summary();
  for (auto kind : {chop::data::SplitKind::train, chop::data::SplitKind::val, chop::data::SplitKind::test})
    for (const auto& batch : dm.batches(kind)) (void)batch.x.sum().item<float>();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    run(data, size);
  } catch (const chop::Error&) {
    // bad input: one clear chop::Error is the expected outcome
  }
  return 0;
}
