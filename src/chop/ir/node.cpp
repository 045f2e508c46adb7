// A node of the graph IR: attribute keys per op, precision strings, equality.
#include "chop/ir/node.h"

#include "chop/support/error.h"

namespace chop::ir {

bool Attrs::operator==(const Attrs& o) const {
  return in_features == o.in_features && out_features == o.out_features &&
         in_channels == o.in_channels && out_channels == o.out_channels &&
         kernel_size == o.kernel_size && stride == o.stride && padding == o.padding &&
         num_features == o.num_features && output_size == o.output_size &&
         start_dim == o.start_dim && end_dim == o.end_dim && bias == o.bias &&
         inplace == o.inplace && eps == o.eps && momentum == o.momentum && p == o.p;
}

const std::vector<std::string>& attr_keys(OpKind op) {
  static const std::vector<std::string> none, linear{"in_features", "out_features", "bias"},
      conv{"in_channels", "out_channels", "kernel_size", "stride", "padding", "bias"},
      bn{"num_features", "eps", "momentum"}, relu{"inplace"},
      pool{"kernel_size", "stride", "padding"}, adaptive{"output_size"},
      flatten{"start_dim", "end_dim"}, dropout{"p", "inplace"};
  switch (op) {
    case OpKind::Input:
    case OpKind::Output:
    case OpKind::Add:
      return none;
    case OpKind::Linear:
      return linear;
    case OpKind::Conv2d:
      return conv;
    case OpKind::BatchNorm1d:
    case OpKind::BatchNorm2d:
      return bn;
    case OpKind::Relu:
      return relu;
    case OpKind::MaxPool2d:
    case OpKind::AvgPool2d:
      return pool;
    case OpKind::AdaptiveAvgPool2d:
      return adaptive;
    case OpKind::Flatten:
      return flatten;
    case OpKind::Dropout:
      return dropout;
  }
  CHOP_ASSERT(false, "unhandled op {}", static_cast<int>(op));
}

bool Scaling::operator==(const Scaling& o) const {
  return kind == o.kind && range == o.range && power_of_two == o.power_of_two &&
         per_channel == o.per_channel && auto_sign == o.auto_sign &&
         calibration_batches == o.calibration_batches;
}

const char* scaling_name(Scaling::Kind k) {
  switch (k) {
    case Scaling::Kind::Frac:
      return "frac";
    case Scaling::Kind::Stats:
      return "stats";
    case Scaling::Kind::Learned:
      return "learned";
  }
  CHOP_ASSERT(false, "unhandled scaling {}", static_cast<int>(k));
}

std::string Precision::to_string() const {
  std::string out = type + "[";
  for (size_t i = 0; i < widths.size(); ++i) out += (i ? ", " : "") + std::to_string(widths[i]);
  out += "]";
  if (!is_scaled()) return out;
  out += std::string(" ") + scaling_name(scaling.kind);
  if (scaling.per_channel) out += " per-channel";
  if (!scaling.power_of_two) out += " any-scale";
  if (scaling.range < 1) out += fmt::format(" q{:g}", scaling.range);
  return out;
}

bool CommonMeta::operator==(const CommonMeta& o) const {
  return in_shapes == o.in_shapes && out_shape == o.out_shape && data_in == o.data_in &&
         weight == o.weight && bias == o.bias && data_out == o.data_out;
}

bool Node::operator==(const Node& o) const {
  return name == o.name && op == o.op && inputs == o.inputs && users == o.users &&
         attrs == o.attrs && meta == o.meta && info == o.info;
}

}  // namespace chop::ir
