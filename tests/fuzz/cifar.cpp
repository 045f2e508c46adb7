// Fuzz target `cifar`: the CIFAR-10 binary batch reader through the data module, as
// `chop train MODEL cifar10 --data-dir DIR` reads it: record size and label checks of every
// batch file, batches.meta.txt's class names, then splitting and normalization.
//
// Input: [u8 n][n bytes: batches.meta.txt][rest: a batch file]; the five training batches and
// the test batch are that one file (hard links).
#include <unistd.h>

#include <cstdint>
#include <string>

#include "chop/data/data_module.h"
#include "chop/support/error.h"
#include "fuzz_data.h"
#include "fuzz_util.h"

namespace {

const std::string& dir() {
  static const std::string d = [] {
    const std::string d = chop::fuzz::scratch_path("cifar");
    std::filesystem::create_directories(d);
    chop::fuzz::write_scratch("cifar/test_batch.bin", nullptr, 0);
    for (int i = 1; i <= 5; ++i) {
      const std::string batch = d + "/data_batch_" + std::to_string(i) + ".bin";
      if (link((d + "/test_batch.bin").c_str(), batch.c_str()) != 0) std::abort();
    }
    return d;
  }();
  return d;
}

void run(const uint8_t* data, size_t size) {
  if (size == 0) return;
  const size_t n = std::min<size_t>(data[0], size - 1);
  (void)dir();
  chop::fuzz::write_scratch("cifar/batches.meta.txt", data + 1, n);
  chop::fuzz::write_scratch("cifar/test_batch.bin", data + 1 + n, size - 1 - n);
  chop::data::DataOptions o;
  o.dataset = "cifar10";
  o.data_dir = dir();
  o.batch_size = 2;
  chop::fuzz::read_every_batch(o);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return chop::fuzz::expect_clear_errors([&] { run(data, size); });
}
