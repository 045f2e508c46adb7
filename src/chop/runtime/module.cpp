// A Graph materialized as a LibTorch module: the one place the IR meets torch::nn.
#include "chop/runtime/module.h"

#include <chrono>
#include <dlfcn.h>
#include <malloc.h>

#include <cmath>
#include <mutex>
#include <thread>
#include <tuple>

#include "chop/quant/format.h"
#include "chop/support/error.h"

namespace chop::runtime {

namespace nn = torch::nn;
using ir::OpKind;

namespace {

/// Whether forward must quantize node n; throws GraphError for a precision it cannot apply.
bool needs_quantization(const ir::Node& n) {
  const ir::CommonMeta& m = n.meta;
  bool any = !m.data_in.is_float32() || !m.weight.is_float32() || !m.bias.is_float32();
  if (!any) return false;
  CHOP_CHECK(ir::op_quantizable(n.op), GraphError,
             "node '{}' ({}) has a quantized precision, but only linear, conv2d, relu and add "
             "are quantized at run time", n.name, ir::op_name(n.op));
  try {
    quant::check_precision(m.data_in, "data_in");
    quant::check_precision(m.weight, "weight");
    quant::check_precision(m.bias, "bias");
  } catch (const ConfigError& e) {
    throw GraphError(fmt::format("node '{}': {}", n.name, e.what()));
  }
  return true;
}

// The quantizers of node n, their states registered on `owner` as "<tensor><suffix>".
NodeQuantizers make_quantizers(const ir::Graph& g, const ir::Node& n, torch::nn::Module& owner,
                               const std::vector<int64_t>& weight_shape) {
  using quant::TensorRole;
  const ir::CommonMeta& m = n.meta;
  // ReLU inputs are always unsigned (the ReLU clips them); other inputs are when their
  // scaling allows it and they cannot be negative. MASE's frac format stays signed.
  bool is_signed = n.op != OpKind::Relu;
  if (is_signed && m.data_in.is_scaled() && m.data_in.scaling.auto_sign && !n.inputs.empty()) {
    bool all_nonnegative = true;
    for (const auto& in : n.inputs) all_nonnegative = all_nonnegative && ir::output_nonnegative(g, g.node(in));
    is_signed = !all_nonnegative;
  }
  NodeQuantizers q;
  q.data_in = quant::TensorQuantizer(m.data_in, TensorRole::Input, is_signed);
  if (n.op == OpKind::Linear || n.op == OpKind::Conv2d) {
    q.weight = quant::TensorQuantizer(m.weight, TensorRole::Weight, true, weight_shape);
    if (n.attrs.bias) q.bias = quant::TensorQuantizer(m.bias, TensorRole::Bias, true);
  }
  for (auto [name, t] : {std::pair<const char*, quant::TensorQuantizer*>{"data_in", &q.data_in},
                         {"weight", &q.weight}, {"bias", &q.bias}}) {
    if (!t->state().defined()) continue;
    std::string key = std::string(name) + t->state_suffix();
    if (t->state_is_parameter()) t->state() = owner.register_parameter(key, t->state());
    else t->state() = owner.register_buffer(key, t->state());
  }
  return q;
}

}  // namespace

GraphModuleImpl::GraphModuleImpl(ir::Graph g) : graph_(std::move(g)) {
  for (const auto& n : graph_.nodes()) {
    CHOP_CHECK(n.meta.in_shapes.size() == n.inputs.size(), GraphError,
               "graph '{}' must have its shapes inferred before it runs (node '{}')",
               graph_.model_name(), n.name);
    Step s;
    s.op = n.op;
    s.quantized = needs_quantization(n);
    for (const auto& in : n.inputs) s.inputs.push_back(graph_.index_of(in));
    const ir::Attrs& a = n.attrs;
    switch (n.op) {
      case OpKind::Linear:
        s.linear = register_module(n.name, nn::Linear(nn::LinearOptions(a.in_features, a.out_features).bias(a.bias)));
        break;
      case OpKind::Conv2d:
        s.conv = register_module(
            n.name, nn::Conv2d(nn::Conv2dOptions(a.in_channels, a.out_channels, a.kernel_size)
                                   .stride(a.stride).padding(a.padding).bias(a.bias)));
        break;
      case OpKind::BatchNorm1d:
        s.bn1d = register_module(n.name, nn::BatchNorm1d(nn::BatchNorm1dOptions(a.num_features)
                                                             .eps(a.eps).momentum(a.momentum)));
        break;
      case OpKind::BatchNorm2d:
        s.bn2d = register_module(n.name, nn::BatchNorm2d(nn::BatchNorm2dOptions(a.num_features)
                                                             .eps(a.eps).momentum(a.momentum)));
        break;
      case OpKind::Dropout:
        s.dropout = register_module(n.name, nn::Dropout(nn::DropoutOptions(a.p)));
        break;
      case OpKind::Input:
      case OpKind::Output:
      case OpKind::Relu:
      case OpKind::MaxPool2d:
      case OpKind::AvgPool2d:
      case OpKind::AdaptiveAvgPool2d:
      case OpKind::Flatten:
      case OpKind::Add:
        break;
    }
    if (s.quantized) {
      std::shared_ptr<nn::Module> owner;
      std::vector<int64_t> weight_shape;
      if (s.linear) owner = s.linear.ptr(), weight_shape = s.linear->weight.sizes().vec();
      else if (s.conv) owner = s.conv.ptr(), weight_shape = s.conv->weight.sizes().vec();
      else owner = register_module(n.name, std::make_shared<nn::Module>());
      s.q = make_quantizers(graph_, n, *owner, weight_shape);
    }
    steps_.push_back(std::move(s));
  }
}

torch::Tensor GraphModuleImpl::run_step(Step& s, const ir::Node& n,
                                        const std::vector<torch::Tensor>& v) {
  const ir::Attrs& a = n.attrs;
  switch (s.op) {
    case OpKind::Input:
      CHOP_ASSERT(false, "input handled by the caller");
    case OpKind::Output:
      return v[s.inputs[0]];
    case OpKind::Linear:
      if (s.active_out >= 0)
        return torch::linear(v[s.inputs[0]], s.linear->weight.narrow(0, 0, s.active_out).narrow(1, 0, s.active_in),
                             a.bias ? s.linear->bias.narrow(0, 0, s.active_out) : torch::Tensor());
      if (!s.quantized || float_forward_) return s.linear->forward(v[s.inputs[0]]);
      return torch::linear(s.q.data_in.forward(v[s.inputs[0]], is_training()),
                           s.q.weight.forward(s.linear->weight, is_training()),
                           s.q.bias.forward(s.linear->bias, is_training()));
    case OpKind::Conv2d:
      if (s.active_out >= 0)
        return torch::conv2d(v[s.inputs[0]], s.conv->weight.narrow(0, 0, s.active_out).narrow(1, 0, s.active_in),
                             a.bias ? s.conv->bias.narrow(0, 0, s.active_out) : torch::Tensor(), a.stride, a.padding);
      if (!s.quantized || float_forward_) return s.conv->forward(v[s.inputs[0]]);
      // Unlike MASE's quantized conv, the bias is kept.
      return torch::conv2d(s.q.data_in.forward(v[s.inputs[0]], is_training()),
                           s.q.weight.forward(s.conv->weight, is_training()),
                           s.q.bias.forward(s.conv->bias, is_training()), a.stride, a.padding);
    case OpKind::BatchNorm1d:
    case OpKind::BatchNorm2d:
      return batch_norm(s, n, v[s.inputs[0]]);
    case OpKind::Relu:
      if (!s.quantized || float_forward_) return torch::relu(v[s.inputs[0]]);
      return torch::relu(s.q.data_in.forward(v[s.inputs[0]], is_training()));
    case OpKind::MaxPool2d:
      return torch::max_pool2d(v[s.inputs[0]], a.kernel_size, a.stride, a.padding);
    case OpKind::AvgPool2d:
      return torch::avg_pool2d(v[s.inputs[0]], a.kernel_size, a.stride, a.padding);
    case OpKind::AdaptiveAvgPool2d:
      return torch::adaptive_avg_pool2d(v[s.inputs[0]], {a.output_size, a.output_size});
    case OpKind::Flatten:
      return torch::flatten(v[s.inputs[0]], a.start_dim, a.end_dim);
    case OpKind::Dropout:
      return s.dropout->forward(v[s.inputs[0]]);
    case OpKind::Add:
      if (!s.quantized || float_forward_) return v[s.inputs[0]] + v[s.inputs[1]];
      return s.q.data_in.forward(v[s.inputs[0]], is_training()) +
             s.q.data_in.forward(v[s.inputs[1]], is_training());
  }
  CHOP_ASSERT(false, "unhandled op {}", static_cast<int>(s.op));
}

torch::Tensor GraphModuleImpl::batch_norm(Step& s, const ir::Node& n, const torch::Tensor& x) {
  if (s.active_out < 0 && bn_momentum_ < 0) return s.bn1d ? s.bn1d->forward(x) : s.bn2d->forward(x);
  const int64_t f = s.active_out >= 0 ? s.active_out : n.attrs.num_features;
  auto run = [&](auto& bn) {
    auto slice = [&](const torch::Tensor& t) { return t.defined() ? t.narrow(0, 0, f) : t; };
    return torch::batch_norm(x, slice(bn->weight), slice(bn->bias), slice(bn->running_mean),
                             slice(bn->running_var), is_training(),
                             bn_momentum_ >= 0 ? bn_momentum_ : n.attrs.momentum, n.attrs.eps,
                             /*cudnn_enabled=*/false);
  };
  return s.bn1d ? run(s.bn1d) : run(s.bn2d);
}

void GraphModuleImpl::set_active_widths(const ir::Graph& sub) {
  const auto& nodes = graph_.nodes();
  CHOP_CHECK(sub.size() == nodes.size(), GraphError,
             "graph '{}' ({} nodes) is not a narrowing of the supernet '{}' ({} nodes)", sub.model_name(),
             sub.size(), graph_.model_name(), nodes.size());
  std::vector<std::pair<int64_t, int64_t>> widths(nodes.size(), {-1, -1});
  for (size_t i = 0; i < nodes.size(); ++i) {
    const ir::Node &mine = nodes[i], &theirs = sub.nodes()[i];
    CHOP_CHECK(mine.name == theirs.name && mine.op == theirs.op, GraphError,
               "graph '{}' is not a narrowing of the supernet: node {} is '{}' ({}), the supernet's '{}' ({})",
               sub.model_name(), i, theirs.name, ir::op_name(theirs.op), mine.name, ir::op_name(mine.op));
    CHOP_CHECK(!steps_[i].quantized, GraphError, "the supernet's node '{}' is quantized: a supernet runs in float",
               mine.name);
    const ir::Attrs &a = mine.attrs, &b = theirs.attrs;
    std::pair<int64_t, int64_t> in_out{-1, -1}, limit{0, 0};
    if (mine.op == OpKind::Linear) in_out = {b.in_features, b.out_features}, limit = {a.in_features, a.out_features};
    if (mine.op == OpKind::Conv2d) in_out = {b.in_channels, b.out_channels}, limit = {a.in_channels, a.out_channels};
    if (mine.op == OpKind::BatchNorm1d || mine.op == OpKind::BatchNorm2d)
      in_out = {b.num_features, b.num_features}, limit = {a.num_features, a.num_features};
    CHOP_CHECK(in_out.first <= limit.first && in_out.second <= limit.second, GraphError,
               "node '{}' of graph '{}' is wider than the supernet's ({} x {} > {} x {})", mine.name,
               sub.model_name(), in_out.first, in_out.second, limit.first, limit.second);
    widths[i] = in_out;
  }
  for (size_t i = 0; i < nodes.size(); ++i) std::tie(steps_[i].active_in, steps_[i].active_out) = widths[i];
}

void GraphModuleImpl::clear_active_widths() {
  for (auto& s : steps_) s.active_in = s.active_out = -1;
}

void GraphModuleImpl::recalibrate_batch_norms(const std::vector<torch::Tensor>& batches) {
  torch::NoGradGuard no_grad;
  const bool was_training = is_training();
  train(true);
  for (auto& s : steps_)
    if (s.dropout) s.dropout->eval();
  float_forward_ = true;  // statistics of the float network: quantizers are calibrated after
  for (size_t k = 0; k < batches.size(); ++k) {
    bn_momentum_ = 1.0 / static_cast<double>(k + 1);  // running = mean of the batches' statistics
    forward(batches[k]);
  }
  bn_momentum_ = -1;
  float_forward_ = false;
  train(was_training);
}

std::vector<torch::Tensor> GraphModuleImpl::forward_all(const torch::Tensor& x,
                                                        std::vector<double>* node_seconds) {
  const auto& expected = graph_.input_shape();
  CHOP_CHECK(x.dim() == static_cast<int64_t>(expected.size()) + 1 &&
                 x.sizes().slice(1).vec() == expected,
             GraphError, "model '{}' expects a batch of inputs of shape {}, but got {}",
             graph_.model_name(), ir::shape_str(expected), ir::shape_str(x.sizes().vec()));
  const auto& nodes = graph_.nodes();
  std::vector<torch::Tensor> values(steps_.size());
  if (node_seconds) node_seconds->assign(steps_.size(), 0.0);
  for (size_t i = 0; i < steps_.size(); ++i) {
    if (!node_seconds) {
      values[i] = steps_[i].op == OpKind::Input ? x : run_step(steps_[i], nodes[i], values);
      continue;
    }
    auto start = std::chrono::steady_clock::now();
    values[i] = steps_[i].op == OpKind::Input ? x : run_step(steps_[i], nodes[i], values);
    (*node_seconds)[i] =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  return values;
}

torch::Tensor GraphModuleImpl::forward(const torch::Tensor& x) { return forward_all(x).back(); }

bool GraphModuleImpl::needs_calibration() const {
  for (const auto& s : steps_)
    if (s.quantized && (s.q.data_in.needs_calibration() || s.q.weight.needs_calibration() ||
                        s.q.bias.needs_calibration()))
      return true;
  return false;
}

int64_t GraphModuleImpl::calibration_batches() const {
  int64_t n = 0;
  for (const auto& node : graph_.nodes())
    for (const ir::Precision* p : {&node.meta.data_in, &node.meta.weight, &node.meta.bias})
      if (p->is_scaled()) n = std::max(n, p->scaling.calibration_batches);
  return n;
}

InputObservations GraphModuleImpl::observe_inputs(const std::vector<torch::Tensor>& batches,
                                                  bool all_quantizable) {
  torch::NoGradGuard no_grad;
  bool was_training = is_training();
  eval();
  float_forward_ = true;
  InputObservations out;
  try {
    for (const auto& x : batches) {
      auto values = forward_all(x);
      for (size_t i = 0; i < steps_.size(); ++i) {
        bool wanted = all_quantizable ? ir::op_quantizable(steps_[i].op) : steps_[i].q.data_in.state().defined();
        if (!wanted) continue;
        auto& observer = out[graph_.nodes()[i].name];
        for (size_t in : steps_[i].inputs) observer.add(values[in]);
      }
    }
  } catch (...) {
    float_forward_ = false;
    train(was_training);
    throw;
  }
  float_forward_ = false;
  train(was_training);
  return out;
}

namespace {
// A Linear's or Conv2d's weight (or bias) tensor; nullptr for other ops.
template <typename Step>
const torch::Tensor* layer_tensor(const Step& s, bool weight) {
  if (s.linear) return weight ? &s.linear->weight : &s.linear->bias;
  if (s.conv) return weight ? &s.conv->weight : &s.conv->bias;
  return nullptr;
}
}  // namespace

void GraphModuleImpl::calibrate(const InputObservations& observations) {
  for (size_t i = 0; i < steps_.size(); ++i) {
    Step& s = steps_[i];
    if (!s.quantized) continue;
    if (s.q.data_in.needs_calibration()) {
      auto it = observations.find(graph_.nodes()[i].name);
      CHOP_CHECK(it != observations.end() && it->second.count() > 0, GraphError,
                 "node '{}': no calibration data for its input quantizer", graph_.nodes()[i].name);
      s.q.data_in.calibrate_input(it->second);
    }
    const torch::Tensor* w = layer_tensor(s, /*weight=*/true);
    if (w && s.q.weight.needs_calibration()) s.q.weight.calibrate_weight(*w);
  }
}

nlohmann::ordered_json GraphModuleImpl::quantization_scales() {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (size_t i = 0; i < steps_.size(); ++i) {
    Step& s = steps_[i];
    if (!s.quantized) continue;
    const torch::Tensor* w = layer_tensor(s, /*weight=*/true);
    const torch::Tensor* b = layer_tensor(s, /*weight=*/false);
    for (auto [name, q, x] : {std::tuple<const char*, quant::TensorQuantizer*, const torch::Tensor*>{"data_in", &s.q.data_in, nullptr},
                              {"weight", &s.q.weight, w}, {"bias", &s.q.bias, b}}) {
      if (!q->active() || q->precision().type != "integer") continue;
      auto scale = q->scale(x && x->defined() ? *x : torch::Tensor()).to(torch::kCPU, torch::kDouble).flatten();
      std::vector<double> values(scale.data_ptr<double>(), scale.data_ptr<double>() + scale.numel());
      nlohmann::ordered_json j;
      j["scale"] = values.size() == 1 ? nlohmann::ordered_json(values[0]) : nlohmann::ordered_json(values);
      std::vector<int64_t> fracs;
      for (double v : values) {
        int e = 0;
        double m = std::frexp(v, &e);  // v = m 2^e, m in [0.5, 1): a power of two when m = 0.5
        if (m == 0.5) fracs.push_back(1 - e);
      }
      if (fracs.size() == values.size())
        j["frac_width"] = fracs.size() == 1 ? nlohmann::ordered_json(fracs[0]) : nlohmann::ordered_json(fracs);
      j["signed"] = q->is_signed();
      out[graph_.nodes()[i].name][name] = j;
    }
  }
  return out;
}

GraphModule build_module(const ir::Graph& g, uint64_t seed, torch::Device device) {
  // torch's default generator is global: serialize seeding + construction across threads.
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  torch::manual_seed(seed);
  GraphModule m(g);
  m->to(device);
  return m;
}

namespace {

// Copies the leading [:min(a_d, b_d)] block of `from` into `to`, in every dimension d.
void copy_overlap(const torch::Tensor& from, torch::Tensor& to) {
  torch::Tensor src = from, dst = to;
  for (int64_t d = 0; d < to.dim(); ++d) {
    int64_t n = std::min(from.size(d), to.size(d));
    src = src.narrow(d, 0, n);
    dst = dst.narrow(d, 0, n);
  }
  dst.copy_(src);
}

}  // namespace

GraphModule rebuild_module(const ir::Graph& g, GraphModuleImpl& old, uint64_t seed,
                           bool inherit_resized) {
  torch::Device device = torch::kCPU;
  auto old_params = old.named_parameters();
  auto old_buffers = old.named_buffers();
  if (!old_params.is_empty()) device = old_params.begin()->value().device();
  GraphModule m = build_module(g, seed, device);
  torch::NoGradGuard no_grad;
  auto take = [&](const torch::OrderedDict<std::string, torch::Tensor>& from,
                  torch::OrderedDict<std::string, torch::Tensor> to) {
    for (auto& item : to) {
      const torch::Tensor* src = from.find(item.key());
      if (!src || src->dim() != item.value().dim()) continue;
      if (src->sizes() == item.value().sizes()) item.value().copy_(*src);
      else if (inherit_resized) copy_overlap(*src, item.value());
    }
  };
  take(old_params, m->named_parameters());
  take(old_buffers, m->named_buffers());
  return m;
}

int64_t rows_within(const ir::Graph& g, int64_t elements) {
  int64_t widest = 1;
  for (const auto& n : g.nodes()) {
    int64_t size = 1;
    for (auto d : n.meta.out_shape) size *= d;
    widest = std::max(widest, size);
  }
  return std::max<int64_t>(1, elements / widest);
}

namespace {
/// openblas_set_num_threads when the BLAS in use is OpenBLAS, else nullptr.
using SetBlasThreads = void (*)(int);
SetBlasThreads openblas_set_num_threads_fn() {
  return reinterpret_cast<SetBlasThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
}
}  // namespace

void set_threads(int64_t n) {
  torch::set_num_threads(static_cast<int>(std::max<int64_t>(n, 1)));
  if (auto set = openblas_set_num_threads_fn()) set(1);
}

void keep_freed_memory() {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc's maximum: larger buffers are still mmap'ed
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 64 << 20);
}

BlasPoolForLargeProducts::BlasPoolForLargeProducts(const ir::Graph& g, int64_t batch_size) {
  int64_t largest = 0;
  for (const auto& n : g.nodes())
    if (n.op == OpKind::Linear) largest = std::max(largest, batch_size * n.attrs.in_features * n.attrs.out_features);
  auto set = openblas_set_num_threads_fn();
  const auto cores = static_cast<int>(std::thread::hardware_concurrency());
  // 2^24 multiply-adds: 128 x 784 x 256 is above, 256 x 64 x 32 (JSC) far below.
  active_ = set && cores > 1 && torch::get_num_threads() == 1 && largest >= (int64_t{1} << 24);
  if (active_) set(cores);
}

BlasPoolForLargeProducts::~BlasPoolForLargeProducts() {
  if (active_) openblas_set_num_threads_fn()(1);
}

torch::Device parse_accelerator(const std::string& name) {
  if (name == "cpu") return torch::kCPU;
  if (name == "auto") return torch::cuda::is_available() ? torch::Device(torch::kCUDA) : torch::kCPU;
  if (name == "gpu" || name == "cuda") {
    CHOP_CHECK(torch::cuda::is_available(), ConfigError,
               "--accelerator {}: no CUDA device is available (this LibTorch build is CPU-only "
               "or no GPU is visible); use --accelerator cpu or auto",
               name);
    return torch::Device(torch::kCUDA);
  }
  throw ConfigError(fmt::format("--accelerator must be auto, cpu or gpu, but got '{}'", name));
}

}  // namespace chop::runtime
