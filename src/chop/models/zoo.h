// The model zoo: every built-in model listed once, each built as an IR graph.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "chop/ir/graph.h"

namespace chop::models {

/// What a model builder may be told; zero/empty means "the model's default".
struct ModelOptions {
  ir::Shape input_shape;          ///< without batch; default per model ([16] JSC, [1,28,28] mlp)
  int64_t num_classes = 0;        ///< default per model (5 JSC, 10 otherwise)
  std::vector<int64_t> hidden;    ///< mlp hidden widths (default 256, 128)
  double width = 1.0;             ///< vgg7 / cnn-small channel width multiplier

  ModelOptions& with_input_shape(ir::Shape s) { input_shape = std::move(s); return *this; }
  ModelOptions& with_num_classes(int64_t n) { num_classes = n; return *this; }
  ModelOptions& with_hidden(std::vector<int64_t> h) { hidden = std::move(h); return *this; }
  ModelOptions& with_width(double w) { width = w; return *this; }
};

struct ModelInfo {
  std::string name;
  std::string description;
  ir::Shape default_input_shape;
  int64_t default_num_classes;
  std::function<ir::Graph(const ModelOptions&)> build;  ///< options already defaulted
};

/// Every zoo model, in listing order.
const std::vector<ModelInfo>& model_registry();
std::vector<std::string> model_names();

/// The zoo model called name; throws GraphError listing known names (nearest first).
const ModelInfo& model_info(const std::string& name);

/// Builds a zoo model with its shapes inferred. Throws GraphError for an unknown name or for
/// options the model cannot take (e.g. an input too small for its pooling).
ir::Graph build_model(const std::string& name, ModelOptions options = {});

}  // namespace chop::models
