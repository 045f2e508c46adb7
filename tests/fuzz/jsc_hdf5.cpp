// Fuzz target `jsc_hdf5`: MASE's JSC HDF5 file through the data module, as `chop train MODEL
// jsc --data-path FILE.h5` reads it: the HDF5 signature check, read_jsc_hdf5 (dataset
// t_allpar_new, its compound fields by name, one-hot labels), duplicate dropping and the 80/20
// split. HDF5's own error printing is silenced by the reader (H5Eset_auto2).
#include <cstdint>
#include <string>

#include "chop/data/data_module.h"
#include "chop/data/jsc_table.h"
#include "chop/support/error.h"
#include "fuzz_data.h"
#include "fuzz_util.h"

namespace {

void run(const uint8_t* data, size_t size) {
  const std::string path = chop::fuzz::write_scratch("jsc.h5", data, size);
  chop::data::DataOptions o;
  o.dataset = "jsc";
  o.data_path = path;
  o.batch_size = 4;
  chop::fuzz::read_every_batch(o);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return chop::fuzz::expect_clear_errors([&] { run(data, size); });
}
