// Training a weight-sharing width supernet with the sandwich rule.
#include "chop/train/supernet.h"

#include <fmt/format.h>

#include <chrono>
#include <exception>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "chop/support/error.h"
#include "chop/support/parallel.h"
#include "chop/support/progress.h"
#include "chop/train/manual_step.h"

namespace chop::train {

namespace F = torch::nn::functional;

TrainResult train_supernet(runtime::GraphModule& m, const data::DataModule& dm, const SupernetOptions& so,
                           const ir::Graph& smallest, const SubnetDraw& draw, uint64_t seed,
                           const std::function<bool()>& stop) {
  const TrainOptions& o = so.train;
  CHOP_CHECK(o.max_epochs >= 1, ConfigError, "a supernet needs max_epochs >= 1, but got {}", o.max_epochs);
  CHOP_CHECK(o.learning_rate > 0, ConfigError, "learning_rate must be positive, but got {}", o.learning_rate);
  CHOP_CHECK(so.random_subnets >= 0, ConfigError, "random_subnets must be >= 0, but got {}", so.random_subnets);
  CHOP_CHECK(dm.train().size() > 0, DataError, "the training split is empty");
  FlatOptimizer optimizer = make_optimizer(m->parameters(), o);
  // Linear / BatchNorm1d / ReLU chains: every pass by ManualStep on slices of the shared tensors
  // (the same gradients, a fraction of autograd's cost); other graphs with autograd.
  std::unique_ptr<ManualStep> largest = o.manual_backward ? ManualStep::make(*m) : nullptr;
  // The smaller subnets' gradients, summed apart (a flat buffer, a view per parameter) and then
  // added to the largest's: the order of the sums is the same with or without the helper thread.
  std::map<std::string, torch::Tensor> subnet_grads;
  torch::Tensor subnet_flat;
  if (largest) {
    int64_t total = 0;
    for (const auto& p : m->named_parameters()) total += p.value().numel();
    subnet_flat = torch::zeros({total}, m->parameters().front().options());
    int64_t offset = 0;
    for (const auto& p : m->named_parameters()) {
      subnet_grads[p.key()] = subnet_flat.narrow(0, offset, p.value().numel()).view(p.value().sizes());
      offset += p.value().numel();
    }
  }
  // Each parameter's gradient beside its subnets' share, paired once: added after every step.
  std::vector<std::pair<torch::Tensor, torch::Tensor>> grad_and_subnet_grad;
  if (largest)
    for (const auto& p : m->named_parameters()) grad_and_subnet_grad.emplace_back(p.value().grad(), subnet_grads.at(p.key()));
  std::optional<HelperThread> helper;
  if (largest && so.parallel) helper.emplace();
  std::map<std::vector<int64_t>, std::unique_ptr<ManualStep>> slices;  // by the subnet's widths
  auto slice = [&](const ir::Graph& sub) -> ManualStep& {
    std::vector<int64_t> key;
    for (const auto& n : sub.nodes()) key.insert(key.end(), {n.attrs.out_features, n.attrs.out_channels, n.attrs.num_features});
    auto it = slices.find(key);
    if (it == slices.end()) {
      auto step = ManualStep::make_slice(*m, sub, &subnet_grads);
      CHOP_ASSERT(step, "a narrowing of a Linear chain is a Linear chain");
      it = slices.emplace(std::move(key), std::move(step)).first;
    }
    return *it->second;
  };
  std::optional<runtime::BlasPoolForLargeProducts> blas_pool;
  if (o.blas_pool) blas_pool.emplace(m->graph(), so.batch_size > 0 ? so.batch_size : dm.batch_size());
  const torch::Device device = device_of(m);
  std::mt19937_64 rng(seed ^ 0x5a4d57a1c8e3ull);

  const int64_t per_epoch = std::max<int64_t>(1, dm.batches(data::SplitKind::train, 0, so.batch_size).size());
  int64_t n_epochs = o.max_epochs;
  if (o.max_steps > 0) n_epochs = std::min(n_epochs, (o.max_steps + per_epoch - 1) / per_epoch);
  int64_t total_steps = n_epochs * per_epoch;
  if (o.max_steps > 0) total_steps = std::min(total_steps, o.max_steps);
  std::unique_ptr<ProgressBar> bar;
  if (o.progress) bar = std::make_unique<ProgressBar>("supernet", total_steps, "step");

  TrainResult result;
  bool stopped = false;
  for (int64_t epoch = 0; epoch < n_epochs && !stopped; ++epoch) {
    const double lr = epoch_learning_rate(o, epoch);
    auto start = std::chrono::steady_clock::now();
    m->train();
    double loss_sum = 0;
    int64_t n_seen = 0;
    for (const auto& b : dm.batches(data::SplitKind::train, epoch, so.batch_size)) {
      if ((o.max_steps > 0 && result.steps >= o.max_steps) || (stop && stop())) {
        stopped = stop && stop();
        break;
      }
      auto x = b.x.to(device), y = b.y.to(device);
      torch::Tensor loss;
      if (largest) {
        largest->forward(x);
        torch::Tensor soft;
        if (so.distill) soft = torch::softmax(largest->logits(), 1);
        std::vector<ManualStep*> subnets;  // drawn here: one thread uses the rng
        for (int64_t k = 0; k <= so.random_subnets; ++k) subnets.push_back(&slice(k == 0 ? smallest : draw(rng)));
        auto run_subnets = [&] {
          subnet_flat.zero_();
          for (ManualStep* s : subnets) s->run(x, y, soft, /*accumulate=*/true);
        };
        if (helper) {
          helper->start(run_subnets);
          std::exception_ptr error;
          try {
            loss = largest->backward(y);  // overwrites every gradient
          } catch (...) {
            error = std::current_exception();
          }
          helper->wait();  // before anything the helper reads goes out of scope
          if (error) std::rethrow_exception(error);
        } else {
          loss = largest->backward(y);
          run_subnets();
        }
        for (auto& [grad, subnet_grad] : grad_and_subnet_grad) grad.add_(subnet_grad);
      } else {
        optimizer.zero_grad();
        m->clear_active_widths();
        auto logits = m->forward(x);
        loss = F::cross_entropy(logits, y);
        loss.backward();
        auto soft = torch::softmax(logits.detach(), 1);
        for (int64_t k = 0; k <= so.random_subnets; ++k) {
          m->set_active_widths(k == 0 ? smallest : draw(rng));
          auto out = m->forward(x);
          auto sub_loss = so.distill ? -(soft * torch::log_softmax(out, 1)).sum(1).mean() : F::cross_entropy(out, y);
          sub_loss.backward();
        }
        m->clear_active_widths();
      }
      loss_sum += loss.item<double>() * static_cast<double>(y.size(0));
      optimizer.step(lr);
      n_seen += y.size(0);
      ++result.steps;
      if (bar && (result.steps & 7) == 0) bar->update(result.steps, fmt::format("epoch {}/{}", epoch + 1, n_epochs));
    }
    EpochRecord rec;
    rec.epoch = epoch;
    rec.steps = result.steps;
    rec.learning_rate = lr;
    rec.train_loss = n_seen ? loss_sum / static_cast<double>(n_seen) : 0;
    rec.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    rec.samples_per_s = rec.seconds > 0 ? static_cast<double>(n_seen) / rec.seconds : 0;
    result.epochs.push_back(rec);
    if (bar)
      bar->message(fmt::format("supernet epoch {}/{}: largest's train_loss {:.4f}, {:.0f} samples/s, lr {:.2e}",
                               epoch + 1, n_epochs, rec.train_loss, rec.samples_per_s, lr));
    if (o.max_steps > 0 && result.steps >= o.max_steps) break;
  }
  result.stopped_early = stopped;
  if (bar) {
    bar->update(result.steps);
    bar->finish();
  }
  return result;
}

}  // namespace chop::train
