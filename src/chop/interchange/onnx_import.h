// An ONNX model in: chop's own float export (MatMul + Add), torch.onnx's (Gemm), and the other
// ops chop's IR has, turned into chop's graph with its weights.
#pragma once

#include <string>

#include "chop/interchange/torchscript_import.h"

namespace chop::interchange {

/// Reads an ONNX file: MatMul (+ a bias Add) / Gemm as Linear, Conv, BatchNormalization, Relu,
/// MaxPool, AveragePool, GlobalAveragePool, Flatten, Add, Dropout / Identity (dropped). Nodes keep
/// their ONNX names (characters other than letters, digits and _ become _), so an export read
/// back is the same graph. DataError for a missing or non-ONNX file; GraphError naming the op
/// and node for what chop cannot represent (QONNX's Quant included: import the float model).
runtime::GraphModule import_onnx(const std::string& path, const ImportOptions& options,
                                 torch::Device device = torch::kCPU);

/// A model file by its extension: .onnx is ONNX, anything else a TorchScript archive.
runtime::GraphModule import_model(const std::string& path, const ImportOptions& options,
                                  torch::Device device = torch::kCPU);

}  // namespace chop::interchange
