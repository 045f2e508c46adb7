// Fuzz target `csv`: the CSV reader (plain or gzip) behind both tabular data sets, through the
// data module: `chop train MODEL csv --data-path FILE.csv` (a user's table: numeric features and
// a `label` column, integer or string classes) and `chop train MODEL jsc --data-path FILE.csv`
// (OpenML's JSC CSV: the 16 features and a `class` column, or MASE's one-hot columns). Each
// input is read both ways.
#include <cstdint>
#include <string>

#include "chop/data/data_module.h"
#include "chop/data/registry.h"
#include "chop/support/error.h"
#include "fuzz_data.h"
#include "fuzz_util.h"

namespace {

void load(const std::string& dataset, const std::string& path) {
  chop::data::DataOptions o;
  o.dataset = dataset;
  o.data_path = path;
  o.batch_size = 4;
  (void)chop::data::dataset_info(o);
  chop::fuzz::read_every_batch(o);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = chop::fuzz::write_scratch("table.csv", data, size);
  for (const char* dataset : {"csv", "jsc"}) chop::fuzz::expect_clear_errors([&] { load(dataset, path); });
  return 0;
}
