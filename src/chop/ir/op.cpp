// The closed set of IR ops (from ops.def) and their static facts.
#include "chop/ir/op.h"

#include "chop/support/error.h"
#include "chop/support/strings.h"

namespace chop::ir {
namespace {

struct OpInfo {
  const char* name;
  int arity;
  const char* torch_class;
  bool quantizable;
};

constexpr std::array<OpInfo, kNumOps> kOps = {{
#define CHOP_OP(kind, name, arity, torch_class, quantizable) {name, arity, torch_class, quantizable},
#include "chop/ir/ops.def"
#undef CHOP_OP
}};

const OpInfo& info(OpKind op) { return kOps[static_cast<size_t>(op)]; }

}  // namespace

const char* op_name(OpKind op) { return info(op).name; }
int op_arity(OpKind op) { return info(op).arity; }
const char* op_torch_class(OpKind op) { return info(op).torch_class; }
bool op_quantizable(OpKind op) { return info(op).quantizable; }

OpKind parse_op(const std::string& name) {
  for (size_t i = 0; i < kOps.size(); ++i)
    if (name == kOps[i].name) return static_cast<OpKind>(i);
  throw GraphError(unknown_name_message("op", name, all_op_names()));
}

std::vector<std::string> all_op_names() {
  std::vector<std::string> names;
  for (const auto& op : kOps) names.emplace_back(op.name);
  return names;
}

bool op_has_params(OpKind op) {
  switch (op) {
    case OpKind::Linear:
    case OpKind::Conv2d:
    case OpKind::BatchNorm1d:
    case OpKind::BatchNorm2d:
      return true;
    case OpKind::Input:
    case OpKind::Output:
    case OpKind::Relu:
    case OpKind::MaxPool2d:
    case OpKind::AvgPool2d:
    case OpKind::AdaptiveAvgPool2d:
    case OpKind::Flatten:
    case OpKind::Dropout:
    case OpKind::Add:
      return false;
  }
  CHOP_ASSERT(false, "unhandled op {}", static_cast<int>(op));
}

}  // namespace chop::ir
