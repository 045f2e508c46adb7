// Fuzz target `idx`: the IDX reader (MNIST / Fashion-MNIST, gzip or plain) through the data
// module, as `chop train MODEL fashion-mnist --data-dir DIR` reads it: read_idx's header and size
// checks, load_idx_dataset's shape / count / label checks, then splitting and normalization.
//
// Input: [u32 little-endian n][n bytes: the images file][rest: the labels file]. Both IDX
// files of the training and the test part are these two (hard links), so a valid pair passes
// the loader. Inputs of fewer than 4 bytes are read as one images file by read_idx alone.
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "chop/data/data_module.h"
#include "chop/data/images.h"
#include "chop/support/error.h"
#include "fuzz_data.h"
#include "fuzz_util.h"

namespace {

const std::string& dir() {
  static const std::string d = [] {
    const std::string d = chop::fuzz::scratch_path("idx");
    std::filesystem::create_directories(d);
    for (const char* kind : {"images-idx3", "labels-idx1"}) {
      const std::string train = d + "/train-" + kind + "-ubyte", test = d + "/t10k-" + kind + "-ubyte";
      chop::fuzz::write_scratch("idx/train-" + std::string(kind) + "-ubyte", nullptr, 0);
      if (link(train.c_str(), test.c_str()) != 0) std::abort();
    }
    return d;
  }();
  return d;
}

void run(const uint8_t* data, size_t size) {
  if (size < 4) {
    (void)chop::data::read_idx(chop::fuzz::write_scratch("short", data, size), chop::data::kIdxImagesMagic);
    return;
  }
  uint32_t n = 0;
  std::memcpy(&n, data, 4);
  data += 4;
  size -= 4;
  n = static_cast<uint32_t>(std::min<size_t>(n, size));
  (void)dir();
  chop::fuzz::write_scratch("idx/train-images-idx3-ubyte", data, n);
  chop::fuzz::write_scratch("idx/train-labels-idx1-ubyte", data + n, size - n);
  chop::data::DataOptions o;
  o.dataset = "fashion-mnist";
  o.data_dir = dir();
  o.batch_size = 2;
  chop::fuzz::read_every_batch(o);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return chop::fuzz::expect_clear_errors([&] { run(data, size); });
}
