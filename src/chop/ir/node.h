// A node of the graph IR: op, inputs, users, typed attributes, common metadata, pass facts.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "chop/ir/op.h"

namespace chop::ir {

/// A tensor shape without the batch dimension ([16], [3, 32, 32]).
using Shape = std::vector<int64_t>;

/// Attributes of every op in one struct; each op uses the fields attr_keys(op) lists.
struct Attrs {
  int64_t in_features = 0;   ///< linear
  int64_t out_features = 0;  ///< linear
  int64_t in_channels = 0;   ///< conv2d
  int64_t out_channels = 0;  ///< conv2d
  int64_t kernel_size = 0;   ///< conv2d, pools (square kernels)
  int64_t stride = 1;        ///< conv2d, pools
  int64_t padding = 0;       ///< conv2d, pools
  int64_t num_features = 0;  ///< batch norms
  int64_t output_size = 1;   ///< adaptive_avg_pool2d (square)
  int64_t start_dim = 1;     ///< flatten (batch dimension counted, as in torch)
  int64_t end_dim = -1;      ///< flatten
  bool bias = true;          ///< linear, conv2d
  bool inplace = false;      ///< relu, dropout (printing only)
  double eps = 1e-5;         ///< batch norms
  double momentum = 0.1;     ///< batch norms
  double p = 0.5;            ///< dropout

  bool operator==(const Attrs& o) const;
  bool operator!=(const Attrs& o) const { return !(*this == o); }
};

/// The attribute keys op uses, in printing order.
const std::vector<std::string>& attr_keys(OpKind op);

/// How an "integer" format's scale is chosen. frac: MASE's fixed 2^-frac_width (widths
/// [width, frac_width]); stats: from the tensor's range (weights: their current max|w| at every
/// step; inputs: a range observed on calibration batches, then a running range in training);
/// learned: a trained step per tensor (LSQ), initialised from statistics. stats and learned
/// precisions have widths [width]: the scale lives in the module, not in the graph.
struct Scaling {
  enum class Kind { Frac, Stats, Learned };
  Kind kind = Kind::Frac;
  double range = 1.0;               ///< inputs: the quantile of |x| taken as the range; 1: min/max
  bool power_of_two = true;         ///< the scale is a power of two (a shift, ap_fixed)
  bool per_channel = false;         ///< weights: one scale per output channel
  bool auto_sign = true;            ///< unsigned range for inputs that cannot be negative (after ReLU)
  int64_t calibration_batches = 8;  ///< training batches observed before the first step

  bool operator==(const Scaling& o) const;
  bool operator!=(const Scaling& o) const { return !(*this == o); }
};

/// "frac", "stats", "learned".
const char* scaling_name(Scaling::Kind k);

/// A number format: "float" [32], "integer" [width, frac_width] (frac scaling) or [width]
/// (stats, learned), "minifloat" [width, exp_width, exp_bias].
struct Precision {
  std::string type = "float";
  std::vector<int64_t> widths = {32};
  Scaling scaling;  ///< integer only

  bool is_float32() const { return type == "float" && widths == std::vector<int64_t>{32}; }
  /// Integer with a scale from statistics or training (not a fixed frac width).
  bool is_scaled() const { return type == "integer" && scaling.kind != Scaling::Kind::Frac; }
  /// "float[32]", "integer[8, 4]", "integer[4] stats", "integer[2] learned per-channel"
  std::string to_string() const;
  bool operator==(const Precision& o) const {
    return type == o.type && widths == o.widths && scaling == o.scaling;
  }
  bool operator!=(const Precision& o) const { return !(*this == o); }
};

/// MASE's "common" metadata: shapes and precisions of a node's arguments and result.
struct CommonMeta {
  std::vector<Shape> in_shapes;  ///< data_in_0, data_in_1 ... (filled by shape inference)
  Shape out_shape;               ///< data_out_0
  Precision data_in;             ///< activations entering the op
  Precision weight;              ///< linear / conv2d weight
  Precision bias;                ///< linear / conv2d bias
  Precision data_out;

  bool operator==(const CommonMeta& o) const;
};

struct Node {
  std::string name;                 ///< torch.fx name: x, seq_blocks_0, feature_layers_3, output
  OpKind op = OpKind::Input;
  std::vector<std::string> inputs;  ///< producers, in argument order
  std::vector<std::string> users;   ///< consumers (maintained by Graph)
  Attrs attrs;
  CommonMeta meta;
  nlohmann::json info = nlohmann::json::object();  ///< pass-specific facts (software, hardware)

  bool operator==(const Node& o) const;
};

}  // namespace chop::ir
