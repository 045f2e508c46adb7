// The closed set of IR ops (from ops.def) and their static facts.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace chop::ir {

enum class OpKind {
#define CHOP_OP(kind, name, arity, torch_class, quantizable) kind,
#include "chop/ir/ops.def"
#undef CHOP_OP
};

inline constexpr int kNumOps = 0
#define CHOP_OP(kind, name, arity, torch_class, quantizable) +1
#include "chop/ir/ops.def"
#undef CHOP_OP
    ;

/// The MASE op name ("linear", "batch_norm1d", ...).
const char* op_name(OpKind op);
/// Number of inputs the op takes (-1: one or more).
int op_arity(OpKind op);
/// The PyTorch module class shown by report_graph ("" for ops that are not modules).
const char* op_torch_class(OpKind op);
/// True for ops whose inputs (and weights) the runtime can quantize: linear, conv2d, relu, add.
bool op_quantizable(OpKind op);
/// Parses a MASE op name; throws GraphError listing known names when unknown.
OpKind parse_op(const std::string& name);
/// All op names in ops.def order.
std::vector<std::string> all_op_names();
/// True for ops that own trainable parameters (linear, conv2d, batch norms).
bool op_has_params(OpKind op);

}  // namespace chop::ir
