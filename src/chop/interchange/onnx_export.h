// The chosen model out to hardware flows: ONNX (opset 13, float, hls4ml's conventions) and
// QONNX (the same graph with a Quant node on every quantized tensor, as FINN and hls4ml read).
#pragma once

#include <string>

#include "chop/runtime/module.h"

namespace chop::interchange {

enum class ExportFormat {
  onnx,      ///< float; Linear as MatMul + Add (hls4ml reads no Gemm)
  qonnx,     ///< + Quant (domain qonnx.custom_op.general) with the tensor's real scale, width, sign
  quant_std, ///< the quantization written with standard ops (Div, Round, Clip, Mul): for runtimes
             ///< that do not know Quant, to check the quantized forward
};

/// "onnx", "qonnx"; ConfigError listing them for anything else.
ExportFormat parse_export_format(const std::string& name);

struct ExportOptions {
  ExportFormat format = ExportFormat::onnx;
  bool fold_bn = false;  ///< fold a BatchNorm that follows a Linear / Conv2d into its weights
};

/// Writes `module` (eval-mode values: batch-norm running statistics, calibrated scales) to path
/// atomically. Node names are chop's (a Linear's MatMul is named after the node, its Add
/// `<node>_bias`; Quant nodes `<node>_<tensor>_quant`); every tensor has a value_info with a
/// symbolic batch dimension; onnx::checker passes on the result. Throws GraphError for what the
/// format cannot hold (a minifloat in QONNX, an adaptive pool that is not global), DataError
/// when path cannot be written.
struct ExportSummary {
  int64_t nodes = 0;        ///< ONNX nodes written
  int64_t quant_nodes = 0;  ///< of them QONNX Quant nodes
};
ExportSummary export_onnx(runtime::GraphModule& module, const ExportOptions& options, const std::string& path);

}  // namespace chop::interchange
