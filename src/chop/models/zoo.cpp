// The model zoo: every built-in model listed once, each built as an IR graph.
#include "chop/models/zoo.h"

#include <cmath>

#include "chop/support/error.h"
#include "chop/support/strings.h"

namespace chop::models {
namespace {

using ir::Attrs;
using ir::Graph;
using ir::OpKind;

Attrs linear(int64_t in, int64_t out, bool bias = true) {
  Attrs a;
  a.in_features = in;
  a.out_features = out;
  a.bias = bias;
  return a;
}

Attrs conv(int64_t in, int64_t out, int64_t kernel, int64_t padding, bool bias = true) {
  Attrs a;
  a.in_channels = in;
  a.out_channels = out;
  a.kernel_size = kernel;
  a.padding = padding;
  a.bias = bias;
  return a;
}

Attrs batch_norm(int64_t n) {
  Attrs a;
  a.num_features = n;
  return a;
}

Attrs relu(bool inplace = true) {
  Attrs a;
  a.inplace = inplace;
  return a;
}

Attrs pool(int64_t kernel) {
  Attrs a;
  a.kernel_size = kernel;
  a.stride = kernel;
  return a;
}

/// Appends children of an nn.Sequential called `prefix`, named as torch.fx names them.
class Sequential {
 public:
  Sequential(Graph& g, std::string prefix, std::string prev)
      : g_(g), prefix_(std::move(prefix)), prev_(std::move(prev)) {}
  Sequential& add(OpKind op, Attrs attrs = {}) {
    std::string name = prefix_ + "_" + std::to_string(next_++);
    g_.add(name, op, {prev_}, attrs);
    prev_ = name;
    return *this;
  }
  const std::string& last() const { return prev_; }

 private:
  Graph& g_;
  std::string prefix_;
  std::string prev_;
  int next_ = 0;
};

void finish(Graph& g, const std::string& last) {
  g.add("output", OpKind::Output, {last});
  g.infer_shapes();
}

int64_t features_of(const ir::Shape& s) {
  int64_t n = 1;
  for (auto d : s) n *= d;
  return n;
}

int64_t scaled(int64_t channels, double width) {
  return std::max<int64_t>(1, static_cast<int64_t>(std::lround(channels * width)));
}

void require_flat(const ModelOptions& o, const std::string& model) {
  CHOP_CHECK(o.input_shape.size() == 1, GraphError,
             "model '{}' takes flat inputs like [16], but got input shape {}", model,
             ir::shape_str(o.input_shape));
}

Graph jsc_tiny(const ModelOptions& o) {
  require_flat(o, "jsc-tiny");
  int64_t f = o.input_shape[0];
  Graph g("jsc-tiny", o.input_shape);
  g.add("x", OpKind::Input, {});
  Sequential s(g, "seq_blocks", "x");
  s.add(OpKind::BatchNorm1d, batch_norm(f)).add(OpKind::Relu, relu())
      .add(OpKind::Linear, linear(f, o.num_classes)).add(OpKind::Relu, relu());
  finish(g, s.last());
  return g;
}

/// BN, ReLU, then (Linear, BN, ReLU) for each width, ending at num_classes.
Graph jsc_blocks(const std::string& name, const ModelOptions& o, std::vector<int64_t> widths) {
  require_flat(o, name);
  int64_t f = o.input_shape[0];
  Graph g(name, o.input_shape);
  g.add("x", OpKind::Input, {});
  Sequential s(g, "seq_blocks", "x");
  s.add(OpKind::BatchNorm1d, batch_norm(f)).add(OpKind::Relu, relu());
  widths.push_back(o.num_classes);
  int64_t in = f;
  for (int64_t w : widths) {
    s.add(OpKind::Linear, linear(in, w)).add(OpKind::BatchNorm1d, batch_norm(w))
        .add(OpKind::Relu, relu());
    in = w;
  }
  finish(g, s.last());
  return g;
}

Graph jsc_three_linear(const std::string& name, const ModelOptions& o, bool relu_between) {
  require_flat(o, name);
  int64_t f = o.input_shape[0];
  Graph g(name, o.input_shape);
  g.add("x", OpKind::Input, {});
  Sequential s(g, "seq_blocks", "x");
  s.add(OpKind::BatchNorm1d, batch_norm(f)).add(OpKind::Relu, relu());
  s.add(OpKind::Linear, linear(f, 16));
  if (relu_between) s.add(OpKind::Relu, relu());
  s.add(OpKind::Linear, linear(16, 16));
  if (relu_between) s.add(OpKind::Relu, relu());
  s.add(OpKind::Linear, linear(16, o.num_classes)).add(OpKind::Relu, relu());
  finish(g, s.last());
  return g;
}

Graph mlp(const ModelOptions& o) {
  Graph g("mlp", o.input_shape);
  g.add("x", OpKind::Input, {});
  Sequential s(g, "seq_blocks", "x");
  if (o.input_shape.size() > 1) s.add(OpKind::Flatten);
  int64_t in = features_of(o.input_shape);
  std::vector<int64_t> hidden = o.hidden.empty() ? std::vector<int64_t>{256, 128} : o.hidden;
  for (int64_t h : hidden) {
    CHOP_CHECK(h > 0, GraphError, "mlp hidden widths must be positive, but got {}", h);
    s.add(OpKind::Linear, linear(in, h)).add(OpKind::Relu, relu(false));
    in = h;
  }
  s.add(OpKind::Linear, linear(in, o.num_classes));
  finish(g, s.last());
  return g;
}

void require_image(const ModelOptions& o, const std::string& model) {
  CHOP_CHECK(o.input_shape.size() == 3, GraphError,
             "model '{}' takes images [C, H, W], but got input shape {}", model,
             ir::shape_str(o.input_shape));
}

Graph cnn_small(const ModelOptions& o) {
  require_image(o, "cnn-small");
  Graph g("cnn-small", o.input_shape);
  g.add("x", OpKind::Input, {});
  Sequential f(g, "feature_layers", "x");
  int64_t c1 = scaled(32, o.width), c2 = scaled(64, o.width);
  f.add(OpKind::Conv2d, conv(o.input_shape[0], c1, 3, 1)).add(OpKind::BatchNorm2d, batch_norm(c1))
      .add(OpKind::Relu, relu()).add(OpKind::MaxPool2d, pool(2))
      .add(OpKind::Conv2d, conv(c1, c2, 3, 1)).add(OpKind::BatchNorm2d, batch_norm(c2))
      .add(OpKind::Relu, relu()).add(OpKind::MaxPool2d, pool(2));
  g.add("flatten", OpKind::Flatten, {f.last()});
  g.infer_shapes();
  int64_t flat = g.node("flatten").meta.out_shape[0];
  Sequential c(g, "classifier", "flatten");
  Attrs drop;
  drop.p = 0.25;
  c.add(OpKind::Linear, linear(flat, 128)).add(OpKind::Relu, relu()).add(OpKind::Dropout, drop)
      .add(OpKind::Linear, linear(128, o.num_classes));
  finish(g, c.last());
  return g;
}

// MASE's VGG7 for CIFAR: 2x128, pool, 2x256, pool, 2x512, pool (conv-BN-ReLU), then
// Linear(512*s*s -> 1024), ReLU, Linear(1024 -> 1024), ReLU, and last_layer to the classes.
Graph vgg7(const ModelOptions& o) {
  require_image(o, "vgg7");
  Graph g("vgg7", o.input_shape);
  g.add("x", OpKind::Input, {});
  Sequential f(g, "feature_layers", "x");
  int64_t in = o.input_shape[0];
  for (int64_t base : {128, 256, 512}) {
    int64_t c = scaled(base, o.width);
    for (int rep = 0; rep < 2; ++rep) {
      f.add(OpKind::Conv2d, conv(in, c, 3, 1)).add(OpKind::BatchNorm2d, batch_norm(c))
          .add(OpKind::Relu, relu());
      in = c;
    }
    f.add(OpKind::MaxPool2d, pool(2));
  }
  g.add("view", OpKind::Flatten, {f.last()});
  g.infer_shapes();
  int64_t flat = g.node("view").meta.out_shape[0];
  Sequential c(g, "classifier", "view");
  c.add(OpKind::Linear, linear(flat, 1024)).add(OpKind::Relu, relu())
      .add(OpKind::Linear, linear(1024, 1024)).add(OpKind::Relu, relu());
  g.add("last_layer", OpKind::Linear, {c.last()}, linear(1024, o.num_classes));
  finish(g, "last_layer");
  return g;
}

const ir::Shape kJsc{16};
const ir::Shape kMnist{1, 28, 28};
const ir::Shape kCifar{3, 32, 32};

}  // namespace

const std::vector<ModelInfo>& model_registry() {
  static const std::vector<ModelInfo> models = {
      {"jsc-tiny", "BatchNorm1d, ReLU, Linear(16,5), ReLU: 117 parameters (MASE JSC_Tiny)", kJsc, 5,
       jsc_tiny},
      {"jsc-toy", "three Linear-BN-ReLU blocks 16-8-8-5 (MASE JSC_Toy)", kJsc, 5,
       [](const ModelOptions& o) { return jsc_blocks("jsc-toy", o, {8, 8}); }},
      {"jsc-s", "Linear-BN-ReLU blocks 16-64-32-32-32-5 (MASE JSC_S)", kJsc, 5,
       [](const ModelOptions& o) { return jsc_blocks("jsc-s", o, {64, 32, 32, 32}); }},
      {"jsc-three-linear", "lab 4's JSC_Three_Linear_Layers: three Linears, no ReLU between", kJsc,
       5, [](const ModelOptions& o) { return jsc_three_linear("jsc-three-linear", o, false); }},
      {"jsc-three-linear-relu",
       "lab 4's network fixed: ReLU after each Linear (Linears at seq_blocks_2/4/6)", kJsc, 5,
       [](const ModelOptions& o) { return jsc_three_linear("jsc-three-linear-relu", o, true); }},
      {"mlp", "multi-layer perceptron, hidden widths configurable (default 256, 128)", kMnist, 10,
       mlp},
      {"cnn-small", "two conv-BN-ReLU-pool blocks (32, 64 channels), Linear 128, Linear", kMnist, 10,
       cnn_small},
      {"vgg7", "MASE's VGG7: conv 128,128,256,256,512,512 with pools, Linear 1024,1024", kCifar, 10,
       vgg7},
  };
  return models;
}

std::vector<std::string> model_names() {
  std::vector<std::string> names;
  for (const auto& m : model_registry()) names.push_back(m.name);
  return names;
}

const ModelInfo& model_info(const std::string& name) {
  for (const auto& m : model_registry())
    if (m.name == name) return m;
  throw GraphError(unknown_name_message("model", name, model_names()));
}

ir::Graph build_model(const std::string& name, ModelOptions options) {
  const ModelInfo& info = model_info(name);
  if (options.input_shape.empty()) options.input_shape = info.default_input_shape;
  if (options.num_classes == 0) options.num_classes = info.default_num_classes;
  CHOP_CHECK(options.num_classes > 0, GraphError, "num_classes must be positive, but got {}",
             options.num_classes);
  CHOP_CHECK(options.width > 0, GraphError, "width multiplier must be positive, but got {}",
             options.width);
  for (auto d : options.input_shape)
    CHOP_CHECK(d > 0, GraphError, "input shape {} has a non-positive dimension",
               ir::shape_str(options.input_shape));
  return info.build(options);
}

}  // namespace chop::models
