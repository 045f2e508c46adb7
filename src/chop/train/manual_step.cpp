// ManualStep: training steps of Linear/BatchNorm1d/ReLU chains, gradients without autograd.
#include "chop/train/manual_step.h"

#include "chop/support/error.h"
#include "chop/train/fused_kernels.h"

namespace chop::train {

std::unique_ptr<ManualStep> ManualStep::make(runtime::GraphModuleImpl& m) { return build(m, nullptr, nullptr); }

std::unique_ptr<ManualStep> ManualStep::make_slice(runtime::GraphModuleImpl& m, const ir::Graph& sub,
                                                   const std::map<std::string, torch::Tensor>* grads) {
  return build(m, &sub, grads);
}

std::unique_ptr<ManualStep> ManualStep::build(runtime::GraphModuleImpl& m, const ir::Graph* sub,
                                              const std::map<std::string, torch::Tensor>* grads) {
  const ir::Graph& g = m.graph();
  const auto params = m.named_parameters();
  const auto buffers = m.named_buffers();
  if (sub && sub->size() != g.size()) return nullptr;
  for (auto& p : m.parameters())
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
  auto step = std::unique_ptr<ManualStep>(new ManualStep());
  const std::string* previous = nullptr;
  bool seen_param = false;
  for (const auto& n : g.nodes()) {
    if (n.op == ir::OpKind::Input) {
      previous = &n.name;
      continue;
    }
    // A chain: every node reads the one before it, with 2-D activations once past flatten.
    if (n.inputs.size() != 1 || !previous || n.inputs[0] != *previous) return nullptr;
    previous = &n.name;
    runtime::NodeQuantizers& q = m.quantizers(g.index_of(n.name));
    if (q.active() && (n.op != ir::OpKind::Linear || sub)) return nullptr;
    // A supernet slice: the leading [out, in] block of a Linear, the leading features of a norm.
    const ir::Node* narrow = sub ? &sub->nodes()[g.index_of(n.name)] : nullptr;
    if (narrow && (narrow->name != n.name || narrow->op != n.op)) return nullptr;
    auto leading = [&](const torch::Tensor& t) {
      if (!narrow || !t.defined()) return t;
      if (n.op == ir::OpKind::Linear)
        return t.dim() == 2 ? t.narrow(0, 0, narrow->attrs.out_features).narrow(1, 0, narrow->attrs.in_features)
                            : t.narrow(0, 0, narrow->attrs.out_features);
      return t.narrow(0, 0, narrow->attrs.num_features);
    };
    const bool two_d = !n.meta.in_shapes.empty() && n.meta.in_shapes[0].size() == 1;
    Layer layer;
    layer.kind = Layer::Kind::Relu;
    const torch::Tensor* w = params.find(n.name + ".weight");  // linear and batch norm
    const torch::Tensor* b = params.find(n.name + ".bias");
    auto grad_of = [&](const torch::Tensor* p, const std::string& name) {
      if (!grads) return p->grad();
      auto it = grads->find(name);
      CHOP_ASSERT(it != grads->end() && it->second.sizes() == p->sizes(), "no gradient target for {}", name);
      return it->second;
    };
    switch (n.op) {
      case ir::OpKind::Output:
        if (!two_d) return nullptr;
        continue;
      case ir::OpKind::Dropout:
        if (n.attrs.p != 0.0) return nullptr;
        continue;
      case ir::OpKind::Relu:
        if (!two_d) return nullptr;
        break;
      case ir::OpKind::Flatten:
        if (n.meta.out_shape.size() != 1) return nullptr;
        layer.kind = Layer::Kind::Flatten;
        break;
      case ir::OpKind::Linear: {
        if (!two_d) return nullptr;
        layer.kind = Layer::Kind::Linear;
        if (!w || (n.attrs.bias && !b)) return nullptr;
        layer.weight = leading(*w), layer.weight_grad = leading(grad_of(w, n.name + ".weight"));
        if (n.attrs.bias) layer.bias = leading(*b), layer.bias_grad = leading(grad_of(b, n.name + ".bias"));
        if (q.active()) layer.q = &q;
        break;
      }
      case ir::OpKind::BatchNorm1d: {
        if (!two_d) return nullptr;
        layer.kind = Layer::Kind::BatchNorm;
        const torch::Tensor* mean = buffers.find(n.name + ".running_mean");
        const torch::Tensor* var = buffers.find(n.name + ".running_var");
        const torch::Tensor* tracked = buffers.find(n.name + ".num_batches_tracked");
        if (!w || !b || !mean || !var || !tracked) return nullptr;
        layer.weight = leading(*w), layer.bias = leading(*b);
        layer.weight_grad = leading(grad_of(w, n.name + ".weight")), layer.bias_grad = leading(grad_of(b, n.name + ".bias"));
        layer.running_mean = leading(*mean), layer.running_var = leading(*var), layer.batches_tracked = *tracked;
        layer.momentum = n.attrs.momentum, layer.eps = n.attrs.eps;
        break;
      }
      case ir::OpKind::Input:  // handled above
      case ir::OpKind::Conv2d:
      case ir::OpKind::BatchNorm2d:
      case ir::OpKind::MaxPool2d:
      case ir::OpKind::AvgPool2d:
      case ir::OpKind::AdaptiveAvgPool2d:
      case ir::OpKind::Add:
        return nullptr;  // not a 2-D chain: autograd
    }
    if ((layer.weight.defined() || (layer.q && layer.q->data_in.learned())) && !seen_param) {
      step->first_param_ = step->layers_.size();
      seen_param = true;
    }
    step->layers_.push_back(std::move(layer));
  }
  if (!seen_param) return nullptr;
  auto opts = step->layers_[step->first_param_].weight.options();
  for (auto& l : step->layers_) l.out = torch::empty({0}, opts), l.grad_in = torch::empty({0}, opts);
  step->log_probs_ = torch::empty({0}, opts);
  step->grad_log_probs_ = torch::empty({0}, opts);
  step->grad_logits_ = torch::empty({0}, opts);
  step->one_ = torch::ones({}, opts);
  return step;
}

torch::Tensor ManualStep::run(const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& soft,
                              bool accumulate) {
  forward(x);
  return backward(y, soft, accumulate);
}

const torch::Tensor& ManualStep::forward(const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  if (x.size(0) != rows_) {
    // Emptied buffers are resized by the out= kernels silently (and keep their memory); a
    // non-empty buffer of another shape makes LibTorch warn at every step.
    for (auto* t : {&log_probs_, &grad_log_probs_, &grad_logits_}) t->resize_({0});
    for (auto& l : layers_) l.out.resize_({0}), l.grad_in.resize_({0});
    rows_ = x.size(0);
  }
  acts_.clear();
  acts_.push_back(x);
  for (auto& l : layers_) {
    const torch::Tensor& a = acts_.back();
    switch (l.kind) {
      case Layer::Kind::Linear:
        if (l.q) {
          l.x_q = l.q->data_in.quantize(a, /*training=*/true, &l.x_q);  // into the last step's buffers
          l.w_q = l.q->weight.quantize(l.weight, true, &l.w_q);
          torch::Tensor b_q = l.bias.defined() ? l.q->bias.quantize(l.bias, true) : l.bias;
          acts_.push_back(b_q.defined() ? at::addmm_out(l.out, b_q, l.x_q, l.w_q.t())
                                        : at::mm_out(l.out, l.x_q, l.w_q.t()));
          break;
        }
        acts_.push_back(l.bias.defined() ? at::addmm_out(l.out, l.bias, a, l.weight.t())
                                         : at::mm_out(l.out, a, l.weight.t()));
        break;
      case Layer::Kind::BatchNorm: {
        auto [out, mean, invstd] = at::native_batch_norm(a, l.weight, l.bias, l.running_mean, l.running_var,
                                                         /*training=*/true, l.momentum, l.eps);
        l.batches_tracked.add_(1);
        l.save_mean = mean, l.save_invstd = invstd;
        acts_.push_back(out);
        break;
      }
      case Layer::Kind::Relu:
        acts_.push_back(at::clamp_min_out(l.out, a, 0));
        break;
      case Layer::Kind::Flatten:
        acts_.push_back(a.reshape({a.size(0), -1}));
        break;
    }
  }
  return acts_.back();
}

torch::Tensor ManualStep::backward(const torch::Tensor& y, const torch::Tensor& soft, bool accumulate) {
  torch::NoGradGuard no_grad;
  // Mean cross-entropy = nll_loss(log_softmax(logits)) and its gradient wrt the logits: one fused
  // loop on CPU float32, else the kernels autograd calls.
  const torch::Tensor& logits = acts_.back();
  torch::Tensor loss, grad;
  if (soft.defined()) {
    // Cross-entropy against soft labels: -sum(soft * log_softmax) / B; gradient (softmax - soft) / B.
    at::_log_softmax_out(log_probs_, logits, 1, false);
    const double rows = static_cast<double>(logits.size(0));
    loss = -(soft * log_probs_).sum() / rows;
    grad = at::sub_out(grad_logits_, log_probs_.exp(), soft).div_(rows);
  } else if (logits.is_cpu() && logits.scalar_type() == torch::kFloat32 && y.is_cpu() &&
             y.scalar_type() == torch::kInt64) {
    const torch::Tensor z = logits.contiguous(), t = y.contiguous();
    grad = grad_logits_.resize_(z.sizes());
    loss = torch::scalar_tensor(fused_cross_entropy(z.data_ptr<float>(), t.data_ptr<int64_t>(), z.size(0),
                                                    z.size(1), grad.data_ptr<float>()),
                                z.options());
  } else {
    at::_log_softmax_out(log_probs_, logits, 1, false);
    torch::Tensor total_weight;
    std::tie(loss, total_weight) = at::nll_loss_forward(log_probs_, y, {}, at::Reduction::Mean, -100);
    at::nll_loss_backward_out(grad_log_probs_, one_, log_probs_, y, {}, at::Reduction::Mean, -100,
                              total_weight);
    grad = at::_log_softmax_backward_data_out(grad_logits_, grad_log_probs_, log_probs_, 1,
                                              log_probs_.scalar_type());
  }
  for (size_t i = layers_.size(); i-- > first_param_;) {
    Layer& l = layers_[i];
    const torch::Tensor& in = acts_[i];
    switch (l.kind) {
      case Layer::Kind::Linear:
        if (l.q) {
          // Straight-through (or LSQ's) gradients of the quantizers around the same products.
          // (a quantized chain is never a slice: weight_grad is the whole grad, overwritten)
          l.q->weight.backward_(at::mm_out(l.weight_grad, grad.t(), l.x_q), l.weight);
          if (l.bias.defined()) l.q->bias.backward_(at::sum_out(l.bias_grad, grad, {0}), l.bias);
          if (i > first_param_ || l.q->data_in.learned()) {
            grad = at::mm_out(l.grad_in, grad, l.w_q);
            l.q->data_in.backward_(grad, in);
          }
          break;
        }
        if (accumulate) {
          l.weight_grad.addmm_(grad.t(), in);
          if (l.bias.defined()) l.bias_grad.add_(grad.sum(0));
        } else {
          at::mm_out(l.weight_grad, grad.t(), in);
          if (l.bias.defined()) at::sum_out(l.bias_grad, grad, {0});
        }
        if (i > first_param_) grad = at::mm_out(l.grad_in, grad, l.weight);
        break;
      case Layer::Kind::BatchNorm: {
        auto [grad_in, grad_weight, grad_bias] = at::native_batch_norm_backward(
            grad, in, l.weight, l.running_mean, l.running_var, l.save_mean, l.save_invstd,
            /*train=*/true, l.eps, {i > first_param_, true, true});
        if (accumulate) {
          l.weight_grad.add_(grad_weight);
          l.bias_grad.add_(grad_bias);
        } else {
          l.weight_grad.copy_(grad_weight);
          l.bias_grad.copy_(grad_bias);
        }
        grad = grad_in;
        break;
      }
      case Layer::Kind::Relu:
        grad = at::threshold_backward_out(l.grad_in, grad, acts_[i + 1], 0);
        break;
      case Layer::Kind::Flatten:
        grad = grad.reshape(in.sizes());
        break;
    }
  }
  return loss;
}

}  // namespace chop::train
