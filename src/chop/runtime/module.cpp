// A Graph materialized as a LibTorch module: the one place the IR meets torch::nn.
#include "chop/runtime/module.h"

#include <chrono>
#include <dlfcn.h>
#include <malloc.h>

#include <mutex>
#include <thread>

#include "chop/quant/format.h"
#include "chop/quant/quantizer.h"
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

torch::Tensor maybe_bias(const torch::Tensor& b, const ir::Precision& p) {
  return b.defined() ? quant::quantize(b, p) : b;
}

}  // namespace

GraphModuleImpl::GraphModuleImpl(ir::Graph g) : graph_(std::move(g)) {
  for (const auto& n : graph_.nodes()) {
    CHOP_CHECK(n.meta.in_shapes.size() == n.inputs.size(), GraphError,
               "graph '{}' must have its shapes inferred before it runs (node '{}')",
               graph_.model_name(), n.name);
    Step s{n.op, {}};
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
      if (!s.quantized) return s.linear->forward(v[s.inputs[0]]);
      return torch::linear(quant::quantize(v[s.inputs[0]], n.meta.data_in),
                           quant::quantize(s.linear->weight, n.meta.weight),
                           maybe_bias(s.linear->bias, n.meta.bias));
    case OpKind::Conv2d:
      if (!s.quantized) return s.conv->forward(v[s.inputs[0]]);
      // Unlike MASE's quantized conv, the bias is kept.
      return torch::conv2d(quant::quantize(v[s.inputs[0]], n.meta.data_in),
                           quant::quantize(s.conv->weight, n.meta.weight),
                           maybe_bias(s.conv->bias, n.meta.bias), a.stride, a.padding);
    case OpKind::BatchNorm1d:
      return s.bn1d->forward(v[s.inputs[0]]);
    case OpKind::BatchNorm2d:
      return s.bn2d->forward(v[s.inputs[0]]);
    case OpKind::Relu:
      if (!s.quantized) return torch::relu(v[s.inputs[0]]);
      return torch::relu(quant::quantize(v[s.inputs[0]], n.meta.data_in, /*is_signed=*/false));
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
      if (!s.quantized) return v[s.inputs[0]] + v[s.inputs[1]];
      return quant::quantize(v[s.inputs[0]], n.meta.data_in) +
             quant::quantize(v[s.inputs[1]], n.meta.data_in);
  }
  CHOP_ASSERT(false, "unhandled op {}", static_cast<int>(s.op));
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
