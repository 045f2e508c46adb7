// Fuzz target `onnx_import`: interchange::import_onnx, as `chop graph|train|search --model-file
// M.onnx` reads a user's model: the protobuf parse, initializers as tensors, each ONNX node as a
// chop node, the graph (shapes inferred and linted) and the module with the file's weights. The
// input shape is the file's, else [1, 28, 28] (a data set's, as model_source passes).
#include <cstdint>
#include <string>

#include "chop/interchange/onnx_import.h"
#include "chop/support/error.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return chop::fuzz::expect_clear_errors([&] {
    const std::string path = chop::fuzz::write_scratch("model.onnx", data, size);
    chop::interchange::ImportOptions o;
    o.default_input_shape = {1, 28, 28};
    auto m = chop::interchange::import_model(path, o);
    (void)m->graph().nodes().size();
  });
}
