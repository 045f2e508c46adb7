// Analysis passes over the graph alone (no torch): metadata, reports, params, FLOPs, sizes, bits.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "chop/passes/pass.h"

namespace chop::passes {

/// Per-sample cost of one node. Convention (what count_flops reports):
///   linear  MACs = in_features * out_features * rows (rows = product of the input's leading
///           dims, 1 for [in]); FLOPs = 2 * MACs + (bias ? out_features * rows : 0)
///   conv2d  MACs = out_channels * H_out * W_out * in_channels * k * k;
///           FLOPs = 2 * MACs + (bias ? out_channels * H_out * W_out : 0)
///   batch norm 2 FLOPs per element (scale and shift, inference form); relu, add 1 per element;
///   max pool k*k - 1 comparisons per output; avg pool k*k per output (adds and a divide);
///   adaptive avg pool one per input element; flatten, dropout, input, output 0.
///   Only linear and conv2d have MACs.
struct NodeCost {
  std::string name;
  int64_t macs = 0;
  int64_t flops = 0;
};

struct FlopCount {
  std::vector<NodeCost> nodes;  ///< every node, in graph order
  int64_t macs = 0, flops = 0;  ///< totals per sample
};

/// Cost of one node (shapes must be inferred).
NodeCost node_cost(const ir::Node& n);
/// Costs of every node and the totals.
FlopCount count_flops(const ir::Graph& g);

/// Bytes of the trainable parameters at their stored precision: weights at meta.weight, biases
/// at meta.bias, batch-norm affine parameters at 32 bits (running statistics not counted).
double model_size_bytes(const ir::Graph& g);

/// Bit operations per sample: sum over linear / conv2d of MACs * weight bits * data_in bits.
int64_t count_bops(const ir::Graph& g);

/// MASE's average_bitwidth: sum(in * out * weight_bits) / sum(in * out) over the Linear nodes
/// whose weight is quantized (not float32); 32 when there are none. Conv weights and
/// activations are not counted (that is MASE's definition).
double average_bitwidth(const ir::Graph& g);

/// Extended average bitwidth: every Linear and Conv2d weight, bias and input activation
/// element, each at its precision (float32 counts 32), averaged over all those elements.
double average_bitwidth_all(const ir::Graph& g);

/// MASE's memory density: compare_to / average_bitwidth(g).
double memory_density(const ir::Graph& g, double compare_to = 32);

/// The module list as PyTorch prints children: "[BatchNorm1d(16, ...), ReLU(inplace=True), ...]".
std::string module_list(const ir::Graph& g);

struct MemoryDensityOptions {
  double compare_to = 32;
  static MemoryDensityOptions read(OptionReader& r);
};

CHOP_DECLARE_PASS(AddCommonMetadataPass, NoOptions);
CHOP_DECLARE_PASS(AddSoftwareMetadataPass, NoOptions);
CHOP_DECLARE_PASS(ReportGraphPass, NoOptions);
CHOP_DECLARE_PASS(ReportNodeTypePass, NoOptions);
CHOP_DECLARE_PASS(ReportNodeShapePass, NoOptions);
CHOP_DECLARE_PASS(ReportNodeMetaParamPass, NoOptions);
CHOP_DECLARE_PASS(CountParamsPass, NoOptions);
CHOP_DECLARE_PASS(CountFlopsPass, NoOptions);
CHOP_DECLARE_PASS(ModelSizePass, NoOptions);
CHOP_DECLARE_PASS(BopsPass, NoOptions);
CHOP_DECLARE_PASS(AverageBitwidthPass, NoOptions);
CHOP_DECLARE_PASS(MemoryDensityPass, MemoryDensityOptions);

}  // namespace chop::passes
