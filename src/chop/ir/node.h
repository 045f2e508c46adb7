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

/// A number format: "float" [32], "integer" [width, frac_width], "minifloat" [width, exp_width].
struct Precision {
  std::string type = "float";
  std::vector<int64_t> widths = {32};

  bool is_float32() const { return type == "float" && widths == std::vector<int64_t>{32}; }
  std::string to_string() const;  ///< "float[32]", "integer[8, 4]"
  bool operator==(const Precision& o) const { return type == o.type && widths == o.widths; }
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
