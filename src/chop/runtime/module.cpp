// A Graph materialized as a LibTorch module: the one place the IR meets torch::nn.
#include "chop/runtime/module.h"

#include <mutex>

#include "chop/support/error.h"

namespace chop::runtime {

namespace nn = torch::nn;
using ir::OpKind;

GraphModuleImpl::GraphModuleImpl(ir::Graph g) : graph_(std::move(g)) {
  for (const auto& n : graph_.nodes()) {
    CHOP_CHECK(n.meta.in_shapes.size() == n.inputs.size(), GraphError,
               "graph '{}' must have its shapes inferred before it runs (node '{}')",
               graph_.model_name(), n.name);
    Step s{n.op, {}};
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
      return s.linear->forward(v[s.inputs[0]]);
    case OpKind::Conv2d:
      return s.conv->forward(v[s.inputs[0]]);
    case OpKind::BatchNorm1d:
      return s.bn1d->forward(v[s.inputs[0]]);
    case OpKind::BatchNorm2d:
      return s.bn2d->forward(v[s.inputs[0]]);
    case OpKind::Relu:
      return torch::relu(v[s.inputs[0]]);
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
      return v[s.inputs[0]] + v[s.inputs[1]];
  }
  CHOP_ASSERT(false, "unhandled op {}", static_cast<int>(s.op));
}

std::vector<torch::Tensor> GraphModuleImpl::forward_all(const torch::Tensor& x) {
  const auto& expected = graph_.input_shape();
  CHOP_CHECK(x.dim() == static_cast<int64_t>(expected.size()) + 1 &&
                 x.sizes().slice(1).vec() == expected,
             GraphError, "model '{}' expects a batch of inputs of shape {}, but got {}",
             graph_.model_name(), ir::shape_str(expected), ir::shape_str(x.sizes().vec()));
  const auto& nodes = graph_.nodes();
  std::vector<torch::Tensor> values(steps_.size());
  for (size_t i = 0; i < steps_.size(); ++i)
    values[i] = steps_[i].op == OpKind::Input ? x : run_step(steps_[i], nodes[i], values);
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
