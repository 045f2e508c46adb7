// Fuzz target `checkpoint`: runtime::load_checkpoint (and load_checkpoint_graph), as `chop test
// --load CKPT`, `chop graph --load` and `chop export` read a checkpoint: LibTorch's archive,
// the stored graph JSON (ir::graph_from_json, shape inference), the module built from it and
// every tensor checked against the graph.
//
// Two kinds of input: a checkpoint file as chop writes it (a zip archive, "PK..."), written to a
// scratch file and loaded; or, when the input starts with '{', the graph JSON alone, which the
// target wraps into an archive (key __chop_graph__, as save_checkpoint writes) before loading,
// so the JSON reader is reached without the fuzzer having to keep the zip's CRCs right.
#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "chop/runtime/checkpoint.h"
#include "chop/support/error.h"
#include "fuzz_util.h"

namespace {

void run(const uint8_t* data, size_t size) {
  std::string path;
  if (size > 0 && data[0] == '{') {
    torch::serialize::OutputArchive archive;
    archive.write("__chop_graph__", c10::IValue(std::string(reinterpret_cast<const char*>(data), size)));
    path = chop::fuzz::scratch_path("graph.ckpt");
    archive.save_to(path);
  } else {
    path = chop::fuzz::write_scratch("model.ckpt", data, size);
  }
  (void)chop::runtime::load_checkpoint_graph(path);
  auto m = chop::runtime::load_checkpoint(path);
  (void)m->graph().nodes().size();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return chop::fuzz::expect_clear_errors([&] { run(data, size); });
}
