// Fuzz target `torchscript_import`: interchange::import_torchscript, as `chop graph|train|search
// --model-file M.pt` reads a user's model: LibTorch's archive loader, the walk over the inlined
// forward graph, the graph (shapes inferred and linted) and the module with the file's weights.
// The input shape is the first layer's, else [1, 28, 28] (a data set's, as model_source passes).
#include <cstdint>
#include <string>

#include "chop/interchange/torchscript_import.h"
#include "chop/support/error.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return chop::fuzz::expect_clear_errors([&] {
    const std::string path = chop::fuzz::write_scratch("model.pt", data, size);
    chop::interchange::ImportOptions o;
    o.default_input_shape = {1, 28, 28};
    auto m = chop::interchange::import_torchscript(path, o);
    (void)m->graph().nodes().size();
  });
}
