// One search trial: sample, transform, build, software runners in order, hardware metrics, score.
#include "chop/flow/trial_runner.h"

#include <fmt/format.h>

#include <csignal>
#include <cstdlib>

#include "chop/flow/model_source.h"
#include "chop/flow/train_options.h"
#include "chop/flow/transforms.h"
#include "chop/results/metric_info.h"
#include "chop/runtime/checkpoint.h"
#include "chop/support/error.h"
#include "chop/train/trainer.h"

namespace chop::flow {
namespace {

/// One software metric by name, read from the metrics' own JSON field list.
double software_metric(const train::ClassificationMetrics& m, const std::string& name) {
  auto j = m.to_json(/*with_confusion=*/false);
  CHOP_ASSERT(j.contains(name), "unknown software metric {}", name);
  return j[name].get<double>();
}

data::SplitKind split_of(const std::string& data_loader) {
  if (data_loader == "test_dataloader") return data::SplitKind::test;
  if (data_loader == "train_dataloader") return data::SplitKind::train;
  return data::SplitKind::val;
}

/// Fault injection for the crash-recovery tests: `CHOP_FAULT_KILL_AT_TRIAL=N` makes the process
/// SIGKILL itself once trial N is RUNNING in storage, exactly as `kill -9` mid-trial would,
/// without a test racing a poll loop against the search.
void maybe_kill_at_trial(int64_t number) {
  const char* env = std::getenv("CHOP_FAULT_KILL_AT_TRIAL");
  if (env && *env && std::strtoll(env, nullptr, 10) == number) std::raise(SIGKILL);
}

uint64_t search_seed(const RunConfig& run, const SearchConfig& cfg) {
  return static_cast<uint64_t>(cfg.setup.seed >= 0 ? cfg.setup.seed : run.seed);
}

}  // namespace

TrialRunner::TrialRunner(const RunConfig& run, const SearchConfig& search,
                         const nlohmann::ordered_json& toml, std::string trials_dir, bool shared_machine)
    : run_(run),
      cfg_(search),
      trials_dir_(std::move(trials_dir)),
      shared_machine_(shared_machine),
      seed_(search_seed(run, search)),
      device_(runtime::parse_accelerator(run.accelerator)),
      data_(data_options(run)) {
  // A loaded checkpoint (or model file) is the starting point of every trial: same-shaped tensors are copied,
  // resized ones take the overlapping part of the trained weights.
  if (!run.load.empty() || (!run.model_file.empty() && !run.reinit))
    loaded_ = run_module(run, data_.info(), toml, seed_, device_);
  base_ = loaded_ ? (*loaded_)->graph() : run_graph(run, data_.info(), toml);
  base_.lint();
  space_ = make_search_space(cfg_, base_);  // checks every choice: nothing is written before
}

std::string TrialRunner::checkpoint(int64_t number) const {
  return fmt::format("{}/trial_{}.ckpt", trials_dir_, number);
}

void TrialRunner::calibrate_from_loaded(runtime::GraphModule& m, const ir::Graph& g) {
  if (!loaded_ || !m->needs_calibration()) return;
  for (const auto& n : g.nodes()) {
    const ir::Node* b = base_.find(n.name);
    if (!b || b->meta.in_shapes != n.meta.in_shapes) return;  // widths changed: its own calibration
  }
  std::lock_guard<std::mutex> lock(calibration_mutex_);
  int64_t n = m->calibration_batches();
  auto it = loaded_observations_.find(n);
  if (it == loaded_observations_.end())
    it = loaded_observations_.emplace(n, (*loaded_)->observe_inputs(train::calibration_batches(data_, n, device_), true)).first;
  m->calibrate(it->second);
}

std::vector<double> TrialRunner::run(search::Trial& trial) {
  nlohmann::ordered_json tables = space_->sample(trial);
  trial.set_user_attr("config", nlohmann::json::parse(tables.dump()));
  maybe_kill_at_trial(trial.number());
  ir::Graph g = apply_transforms(base_, tables);
  auto m = loaded_ ? runtime::rebuild_module(g, **loaded_, seed_, /*inherit_resized=*/true)
                   : runtime::build_module(g, seed_, device_);
  calibrate_from_loaded(m, g);
  nlohmann::json sw_j = nlohmann::json::object(), hw_j = nlohmann::json::object(),
                 scaled_j = nlohmann::json::object();
  // Software runners in config order (MASE's): basic_train trains, then scores its split;
  // basic_evaluation scores. Metrics merge, a later runner's value winning on a clash.
  for (const SoftwareRunner& sw : cfg_.sw_runners) {
    if (sw.name == "basic_train") {
      train::TrainOptions t = train_options(run_, &sw);
      t.progress = false;
      t.blas_pool = !shared_machine_;  // one training on the machine
      bool pruned = false;
      train::train(m, data_, t, [&](const train::EpochRecord& r) {
        if (r.val.n_samples == 0) return true;
        trial.report(r.epoch, software_metric(r.val, cfg_.setup.pruning_metric));
        pruned = trial.should_prune();
        return !pruned;
      });
      if (pruned) throw search::TrialPruned();
    }
    auto metrics = train::evaluate(m, data_, split_of(sw.data_loader), sw.num_samples, cfg_.eval_mode);
    const auto all = metrics.to_json(/*with_confusion=*/false);
    for (const auto& name : results::metric_names(/*hardware=*/false)) sw_j[name] = all.at(name).get<double>();
  }
  for (const auto& [k, v] : measure_hardware(cfg_.hw_runners, g, &m)) hw_j[k] = v;
  auto metric = [&](const std::string& name) {
    return sw_j.contains(name) ? sw_j[name].get<double>() : hw_j.at(name).get<double>();
  };
  std::vector<double> values;
  double sum = 0;
  for (const auto& spec : cfg_.metrics) {
    double scaled = spec.scale * metric(spec.name);
    scaled_j[spec.name] = scaled;
    values.push_back(scaled);
    sum += spec.direction == cfg_.setup.direction ? scaled : -scaled;
  }
  std::vector<double> constraints;
  for (const auto& [name, limit] : cfg_.constraints) constraints.push_back(metric(name) - limit);
  if (!constraints.empty()) trial.set_constraints(constraints);
  trial.set_user_attr("software_metrics", sw_j);
  trial.set_user_attr("hardware_metrics", hw_j);
  trial.set_user_attr("scaled_metrics", scaled_j);
  // The scale each quantized tensor ended with, so a result can be reproduced with "frac".
  auto scales = m->quantization_scales();
  if (!scales.empty()) trial.set_user_attr("quantization_scales", nlohmann::json::parse(scales.dump()));
  runtime::save_checkpoint(checkpoint(trial.number()), m);
  if (cfg_.setup.sum_scaled_metrics) return {sum};
  return values;
}

}  // namespace chop::flow
