// Training and evaluation of a graph module on a data module.
#include "chop/train/trainer.h"

#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <optional>

#include "chop/runtime/checkpoint.h"
#include "chop/support/error.h"
#include "chop/support/files.h"
#include "chop/support/progress.h"
#include "chop/train/manual_step.h"

namespace chop::train {

torch::Device device_of(runtime::GraphModule& m) {
  auto params = m->parameters();
  return params.empty() ? torch::Device(torch::kCPU) : params[0].device();
}

double epoch_learning_rate(const TrainOptions& o, int64_t epoch) {
  const double eta_min = 1e-6;
  if (o.scheduler != "cosine" || o.max_epochs <= 0) return o.learning_rate;
  return eta_min + (o.learning_rate - eta_min) * (1 + std::cos(M_PI * epoch / o.max_epochs)) / 2;
}

FlatOptimizer make_optimizer(std::vector<torch::Tensor> params, const TrainOptions& o) {
  OptimizerOptions oo;
  oo.name = o.optimizer;
  oo.weight_decay = o.optimizer == "sgd" && o.weight_decay == 0 ? 5e-4 : o.weight_decay;
  return FlatOptimizer(std::move(params), oo);
}

nlohmann::ordered_json EpochRecord::to_json() const {
  nlohmann::ordered_json j{{"epoch", epoch},
                           {"steps", steps},
                           {"train_loss", train_loss},
                           {"learning_rate", learning_rate},
                           {"seconds", seconds},
                           {"samples_per_s", samples_per_s}};
  if (val.n_samples) j["val"] = val.to_json(false);
  return j;
}

std::vector<torch::Tensor> calibration_batches(const data::DataModule& dm, int64_t n, torch::Device device) {
  std::vector<torch::Tensor> batches;
  for (const auto& b : dm.batches(data::SplitKind::train, 0)) {
    if (static_cast<int64_t>(batches.size()) >= n) break;
    batches.push_back(b.x.to(device));
  }
  CHOP_CHECK(!batches.empty(), DataError, "calibration needs training batches, but the training split is empty");
  return batches;
}

void calibrate(runtime::GraphModule& m, const data::DataModule& dm) {
  if (!m->needs_calibration()) return;
  m->calibrate(m->observe_inputs(calibration_batches(dm, m->calibration_batches(), device_of(m))));
}

ClassificationMetrics evaluate(runtime::GraphModule& m, const data::DataModule& dm,
                               data::SplitKind split, int64_t max_samples, bool eval_mode, int64_t batch_size) {
  calibrate(m, dm);
  torch::NoGradGuard no_grad;
  bool was_training = m->is_training();
  m->train(!eval_mode);
  torch::Device device = device_of(m);
  MetricAccumulator acc(dm.info().num_classes, device);
  int64_t seen = 0;
  for (const auto& b : dm.batches(split, 0, batch_size)) {
    if (max_samples > 0 && seen >= max_samples) break;
    auto x = b.x, y = b.y;
    if (max_samples > 0 && seen + y.size(0) > max_samples) {
      x = x.narrow(0, 0, max_samples - seen);
      y = y.narrow(0, 0, max_samples - seen);
    }
    x = x.to(device);
    y = y.to(device);
    auto logits = m->forward(x);
    acc.add(logits, y);
    seen += y.size(0);
  }
  m->train(was_training);
  return acc.compute();
}

TrainResult train(runtime::GraphModule& m, const data::DataModule& dm, const TrainOptions& o,
                  const EpochCallback& on_epoch) {
  CHOP_CHECK(o.max_epochs >= 0, ConfigError, "max_epochs must be >= 0, but got {}", o.max_epochs);
  CHOP_CHECK(o.learning_rate > 0, ConfigError, "learning_rate must be positive, but got {}",
             o.learning_rate);
  CHOP_CHECK(o.scheduler == "cosine" || o.scheduler == "none", ConfigError,
             "scheduler must be cosine or none, but got '{}'", o.scheduler);
  CHOP_CHECK(dm.train().size() > 0, DataError, "the training split is empty");
  calibrate(m, dm);
  FlatOptimizer optimizer = make_optimizer(m->parameters(), o);
  std::unique_ptr<ManualStep> manual = o.manual_backward ? ManualStep::make(*m) : nullptr;
  std::optional<runtime::BlasPoolForLargeProducts> blas_pool;
  if (o.blas_pool) blas_pool.emplace(m->graph(), dm.batch_size());
  torch::Device device = device_of(m);
  if (!o.ckpt_dir.empty()) std::filesystem::create_directories(o.ckpt_dir);

  TrainResult result;
  nlohmann::ordered_json history = nlohmann::ordered_json::array();
  int64_t epochs_without_improvement = 0;
  int64_t n_epochs = o.max_epochs;
  if (o.max_steps >= 0) {
    int64_t per_epoch = std::max<int64_t>(1, dm.num_batches(data::SplitKind::train));
    n_epochs = std::min(n_epochs, (o.max_steps + per_epoch - 1) / per_epoch);
  }
  int64_t total_steps = n_epochs * dm.num_batches(data::SplitKind::train);
  if (o.max_steps >= 0) total_steps = std::min(total_steps, o.max_steps);
  std::unique_ptr<ProgressBar> bar;
  if (o.progress) bar = std::make_unique<ProgressBar>("train", total_steps, "step");

  for (int64_t epoch = 0; epoch < n_epochs; ++epoch) {
    double lr = epoch_learning_rate(o, epoch);
    auto start = std::chrono::steady_clock::now();
    m->train();
    auto loss_sum = torch::zeros({}, torch::dtype(torch::kFloat32).device(device));
    int64_t n_seen = 0;
    for (const auto& b : dm.batches(data::SplitKind::train, epoch)) {
      if (o.max_steps >= 0 && result.steps >= o.max_steps) break;
      auto x = b.x.to(device, /*non_blocking=*/true), y = b.y.to(device, true);
      torch::Tensor loss;
      if (manual) {
        loss = manual->run(x, y);
      } else {
        optimizer.zero_grad();
        loss = torch::nn::functional::cross_entropy(m->forward(x), y);
        loss.backward();
      }
      optimizer.step(lr);
      loss_sum.add_(loss.detach(), static_cast<double>(y.size(0)));
      n_seen += y.size(0);
      ++result.steps;
      if (bar && (result.steps & 15) == 0)
        bar->update(result.steps, fmt::format("epoch {}/{}", epoch + 1, n_epochs));
    }
    EpochRecord rec;
    rec.epoch = epoch;
    rec.steps = result.steps;
    rec.learning_rate = lr;
    rec.train_loss = n_seen ? loss_sum.item<double>() / n_seen : 0;
    rec.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    rec.samples_per_s = rec.seconds > 0 ? n_seen / rec.seconds : 0;
    if (dm.val().size() > 0) rec.val = evaluate(m, dm, data::SplitKind::val);
    double score = dm.val().size() > 0 ? rec.val.loss : rec.train_loss;
    bool improved = result.best_epoch < 0 || score < result.best_val_loss;
    if (improved) {
      result.best_epoch = epoch;
      result.best_val_loss = score;
      epochs_without_improvement = 0;
    } else {
      ++epochs_without_improvement;
    }
    result.epochs.push_back(rec);
    history.push_back(rec.to_json());
    if (bar)
      bar->message(fmt::format("epoch {}/{}: train_loss {:.4f}, val_loss {:.4f}, val_acc {:.4f}, "
                               "{:.0f} samples/s, lr {:.2e}",
                               epoch + 1, n_epochs, rec.train_loss, rec.val.loss, rec.val.accuracy,
                               rec.samples_per_s, lr));
    if (!o.ckpt_dir.empty()) {
      result.last_ckpt = o.ckpt_dir + "/last.ckpt";
      runtime::save_checkpoint(result.last_ckpt, m);
      if (improved) {
        result.best_ckpt = o.ckpt_dir + "/best.ckpt";
        runtime::save_checkpoint(result.best_ckpt, m);
      }
      nlohmann::ordered_json metrics{{"epochs", history}, {"best_epoch", result.best_epoch}};
      write_file_atomically(o.ckpt_dir + "/metrics.json", metrics.dump(2) + "\n");
    }
    if (on_epoch && !on_epoch(rec)) {
      result.stopped_early = true;
      break;
    }
    if (o.early_stopping > 0 && epochs_without_improvement >= o.early_stopping) {
      result.stopped_early = true;
      break;
    }
    if (o.max_steps >= 0 && result.steps >= o.max_steps) break;
  }
  if (bar) {
    bar->update(result.steps);
    bar->finish();
  }
  return result;
}

}  // namespace chop::train
