// One search trial: sample, transform, build, software runners in order, hardware metrics, score.
#include "chop/flow/trial_runner.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <sched.h>
#include <thread>
#include <type_traits>
#include <variant>
#include <cstdlib>

#include "chop/flow/model_source.h"
#include "chop/flow/train_options.h"
#include "chop/flow/transforms.h"
#include "chop/results/metric_info.h"
#include "chop/runtime/checkpoint.h"
#include "chop/search/samplers/sampler.h"
#include "chop/support/error.h"
#include "chop/support/parallel.h"
#include "chop/support/progress.h"
#include "chop/train/supernet.h"
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

/// `CHOP_FAULT_INTERRUPT_AT_CANDIDATE=N`: SIGINT, as Ctrl-C would send it, once N supernet
/// candidates are scored up front.
void maybe_interrupt_at_candidate(int64_t n_scored) {
  const char* env = std::getenv("CHOP_FAULT_INTERRUPT_AT_CANDIDATE");
  if (env && *env && std::strtoll(env, nullptr, 10) == n_scored) std::raise(SIGINT);
}

/// Values per node output in one forward pass of a supernet candidate's scoring or recalibration
/// (2^22 floats: 16 MB an activation).
constexpr int64_t kScoringElements = int64_t{1} << 22;

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

runtime::GraphModule TrialRunner::fresh_module(const ir::Graph& g) {
  auto m = loaded_ ? runtime::rebuild_module(g, **loaded_, seed_, /*inherit_resized=*/true)
                   : runtime::build_module(g, seed_, device_);
  calibrate_from_loaded(m, g);
  return m;
}

TrialRunner::Evaluation TrialRunner::evaluate(const ir::Graph& g, runtime::GraphModule& m, bool train,
                                              search::Trial* trial, bool concurrent) {
  Evaluation e;
  // Software runners in config order (MASE's): basic_train trains, then scores its split;
  // basic_evaluation scores. Metrics merge, a later runner's value winning on a clash.
  for (const SoftwareRunner& sw : cfg_.sw_runners) {
    if (sw.name == "basic_train" && train) {
      train::TrainOptions t = train_options(run_, &sw);
      t.progress = false;
      t.blas_pool = !shared_machine_ && !concurrent;  // one training on the machine
      bool pruned = false;
      train::train(m, data_, t, [&](const train::EpochRecord& r) {
        if (r.val.n_samples == 0 || !trial) return true;
        trial->report(r.epoch, software_metric(r.val, cfg_.setup.pruning_metric));
        pruned = trial->should_prune();
        return !pruned;
      });
      if (pruned) throw search::TrialPruned();
    }
    // A supernet's candidates are scored in batches as large as memory allows (eval-mode metrics
    // do not depend on the batching); trained trials as MASE does, in training batches.
    const int64_t batch = supernet_ && !train && cfg_.eval_mode ? std::max(data_.batch_size(), runtime::rows_within(g, kScoringElements)) : 0;
    auto metrics = train::evaluate(m, data_, split_of(sw.data_loader), sw.num_samples, cfg_.eval_mode, batch);
    const auto all = metrics.to_json(/*with_confusion=*/false);
    for (const auto& name : results::metric_names(/*hardware=*/false)) e.software[name] = all.at(name).get<double>();
  }
  for (const auto& [k, v] : measure_hardware(cfg_.hw_runners, g, &m)) e.hardware[k] = v;
  auto metric = [&](const std::string& name) {
    return e.software.contains(name) ? e.software[name].get<double>() : e.hardware.at(name).get<double>();
  };
  double sum = 0;
  for (const auto& spec : cfg_.metrics) {
    double scaled = spec.scale * metric(spec.name);
    e.scaled[spec.name] = scaled;
    e.values.push_back(scaled);
    sum += spec.direction == cfg_.setup.direction ? scaled : -scaled;
  }
  if (cfg_.setup.sum_scaled_metrics) e.values = {sum};
  for (const auto& [name, limit] : cfg_.constraints) e.constraints.push_back(metric(name) - limit);
  // The scale each quantized tensor ended with, so a result can be reproduced with "frac".
  auto scales = m->quantization_scales();
  if (!scales.empty()) e.scales = nlohmann::json::parse(scales.dump());
  return e;
}

std::vector<double> TrialRunner::run(search::Trial& trial) {
  nlohmann::ordered_json tables = space_->sample(trial);
  trial.set_user_attr("config", nlohmann::json::parse(tables.dump()));
  maybe_kill_at_trial(trial.number());
  Evaluation e;
  if (supernet_) {
    auto it = scored_.find(tables.dump());
    e = it != scored_.end() ? it->second.evaluation : score_candidate(apply_transforms(base_, tables));
  } else {
    ir::Graph g = apply_transforms(base_, tables);
    runtime::GraphModule m = fresh_module(g);
    e = evaluate(g, m, /*train=*/true, &trial);
    runtime::save_checkpoint(checkpoint(trial.number()), m);
  }
  if (!e.constraints.empty()) trial.set_constraints(e.constraints);
  for (const auto& [key, value] : e.attributes()) trial.set_user_attr(key, value);
  return e.values;  // a supernet candidate has no checkpoint: its model is the retrained one
}

std::map<std::string, nlohmann::json> TrialRunner::Evaluation::attributes() const {
  std::map<std::string, nlohmann::json> a = {
      {"software_metrics", software}, {"hardware_metrics", hardware}, {"scaled_metrics", scaled}};
  if (!scales.empty()) a["quantization_scales"] = scales;
  return a;
}

TrialRunner::Evaluation TrialRunner::score_candidate(const ir::Graph& g) {
  // The candidate's weights are the supernet's leading slices; its batch norms see its own widths.
  runtime::GraphModule m = runtime::rebuild_module(g, **supernet_, seed_, /*inherit_resized=*/true);
  m->recalibrate_batch_norms(recalibration_batches_);
  return evaluate(g, m, /*train=*/false, nullptr);
}

int TrialRunner::parallel_jobs() const {
  if (shared_machine_) return 1;
  cpu_set_t set;  // the cores this process may run on (taskset, cgroups), not the machine's
  const int cores = sched_getaffinity(0, sizeof(set), &set) == 0
                        ? CPU_COUNT(&set)
                        : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::max(1, cores / std::max(1, torch::get_num_threads()));
}

int64_t TrialRunner::score_every_candidate(bool progress, const std::function<bool()>& stop) {
  CHOP_ASSERT(supernet_, "score_every_candidate after train_supernet");
  const search::SearchSpace typed = space_->distributions();
  const std::vector<search::Params> internal = search::unseen_configs(typed, [](const search::Params&) { return false; });
  std::vector<std::map<std::string, search::ParamValue>> configs;
  for (const auto& params : internal) {
    std::map<std::string, search::ParamValue> p;
    for (const auto& [name, value] : params) p[name] = typed.at(name).to_external(value);
    configs.push_back(std::move(p));
  }
  std::vector<nlohmann::ordered_json> tables(configs.size());
  std::vector<Evaluation> results(configs.size());
  std::vector<char> done(configs.size(), 0);
  std::unique_ptr<ProgressBar> bar;
  if (progress) bar = std::make_unique<ProgressBar>("score", static_cast<int64_t>(configs.size()), "it", 5);
  std::mutex bar_mutex;
  int64_t n_done = 0;
  parallel_for_each(static_cast<int64_t>(configs.size()), parallel_jobs(), [&](int64_t i) {
    tables[i] = space_->tables(configs[i]);
    results[i] = score_candidate(apply_transforms(base_, tables[i]));
    done[i] = 1;
    std::lock_guard<std::mutex> lock(bar_mutex);
    ++n_done;
    if (bar) bar->update(n_done, fmt::format("{:.2f} seconds", bar->elapsed_s()));
    maybe_interrupt_at_candidate(n_done);
  }, stop);
  if (bar) bar->finish();
  for (size_t i = 0; i < configs.size(); ++i)
    if (done[i])
      scored_.emplace(tables[i].dump(), Scored{internal[i], nlohmann::json::parse(tables[i].dump()), std::move(results[i])});
  return n_done;
}

std::vector<search::FrozenTrial> TrialRunner::scored_trials() const {
  const search::SearchSpace typed = space_->distributions();
  std::vector<search::FrozenTrial> trials;
  for (const auto& [key, scored] : scored_) {
    search::FrozenTrial t;
    t.state = search::TrialState::Complete;
    t.params = scored.params;
    for (const auto& [name, value] : scored.params) t.distributions.emplace(name, typed.at(name));
    t.values = scored.evaluation.values;
    t.constraints = scored.evaluation.constraints;
    t.user_attrs = scored.evaluation.attributes();
    t.user_attrs["config"] = scored.config;
    t.datetime_start = t.datetime_complete = search::Clock::now();
    trials.push_back(std::move(t));
  }
  return trials;
}

bool TrialRunner::trains_deterministically_in_parallel(const ir::Graph& g) {
  return std::none_of(g.nodes().begin(), g.nodes().end(),
                      [](const ir::Node& n) { return n.op == ir::OpKind::Dropout && n.attrs.p > 0; });
}

ir::Graph TrialRunner::width_graph(const std::map<std::string, search::ParamValue>& params) const {
  nlohmann::ordered_json tables = space_->tables(params);
  nlohmann::ordered_json widths = nlohmann::ordered_json::object();
  if (tables.contains("redefine_linear")) widths["redefine_linear"] = tables["redefine_linear"];
  return apply_transforms(base_, widths);
}

double TrialRunner::train_supernet(const std::string& ckpt, bool progress, const std::function<bool()>& stop) {
  // Width parameters (the channel multipliers) at their extremes or drawn at random; the others
  // (quantization) do not change a width: their first choice.
  const search::SearchSpace typed = space_->distributions();  // choices as the trials hold them
  std::vector<std::pair<std::string, const search::Distribution*>> parameters;  // in the space's order
  for (const auto& [name, choices] : space_->parameters()) parameters.emplace_back(name, &typed.at(name));
  auto is_width = [](const std::string& name) {
    const std::string suffix = "channel_multiplier";
    return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  using Choices = std::vector<search::ParamValue>;
  auto config = [&](const std::function<size_t(const Choices&)>& pick) {
    std::map<std::string, search::ParamValue> p;
    for (const auto& [name, distribution] : parameters)
      p[name] = distribution->choices[is_width(name) ? pick(distribution->choices) : 0];
    return width_graph(p);
  };
  auto extreme = [](bool largest) {
    return [largest](const Choices& choices) {
      auto number = [](const search::ParamValue& v) {
        return std::visit([](const auto& x) -> double {
          if constexpr (std::is_arithmetic_v<std::decay_t<decltype(x)>>) return static_cast<double>(x);
          else return 0.0;  // a multiplier is a number (checked when the space was read)
        }, v);
      };
      size_t best = 0;
      for (size_t i = 1; i < choices.size(); ++i)
        if (largest ? number(choices[i]) > number(choices[best]) : number(choices[i]) < number(choices[best]))
          best = i;
      return best;
    };
  };
  const ir::Graph largest = config(extreme(true)), smallest = config(extreme(false));
  supernet_ = loaded_ ? runtime::rebuild_module(largest, **loaded_, seed_, /*inherit_resized=*/true)
                      : runtime::build_module(largest, seed_, device_);
  const SoftwareRunner* trainer = nullptr;
  for (const auto& sw : cfg_.sw_runners)
    if (sw.name == "basic_train") trainer = &sw;
  CHOP_ASSERT(trainer, "the supernet strategy needs basic_train (checked when the config was read)");
  train::SupernetOptions so;
  so.train = train_options(run_, trainer);
  so.train.max_epochs = cfg_.supernet.max_epochs;
  so.train.max_steps = -1;
  if (cfg_.supernet.learning_rate > 0) so.train.learning_rate = cfg_.supernet.learning_rate;
  so.train.progress = progress;
  so.parallel = parallel_jobs() > 1;
  so.train.blas_pool = !shared_machine_ && !so.parallel;  // the pool's threads are process-wide
  so.random_subnets = cfg_.supernet.random_subnets;
  so.batch_size = cfg_.supernet.batch_size;
  so.distill = cfg_.supernet.distill;
  auto draw = [&](std::mt19937_64& rng) {
    return config([&](const Choices& choices) {
      return static_cast<size_t>(std::uniform_int_distribution<size_t>(0, choices.size() - 1)(rng));
    });
  };
  auto start = std::chrono::steady_clock::now();
  train::train_supernet(*supernet_, data_, so, smallest, draw, seed_, stop);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  runtime::save_checkpoint(ckpt, *supernet_);
  // The recalibration batches joined into as few forward passes as memory allows: the statistics
  // of larger batches are the same expectation with less noise, at a fraction of the passes.
  const int64_t rows = std::max(data_.batch_size(), runtime::rows_within(largest, kScoringElements));
  std::vector<torch::Tensor> parts;
  int64_t n_rows = 0;
  recalibration_batches_.clear();
  for (const auto& b : train::calibration_batches(data_, cfg_.supernet.calibration_batches, device_)) {
    if (n_rows > 0 && n_rows + b.size(0) > rows) {
      recalibration_batches_.push_back(torch::cat(parts));
      parts.clear();
      n_rows = 0;
    }
    parts.push_back(b);
    n_rows += b.size(0);
  }
  if (!parts.empty()) recalibration_batches_.push_back(torch::cat(parts));
  return seconds;
}

TrialRunner::Evaluation TrialRunner::train_standalone(const std::map<std::string, search::ParamValue>& params,
                                                      const std::string& ckpt, bool concurrent) {
  ir::Graph g = apply_transforms(base_, space_->tables(params));
  runtime::GraphModule m = fresh_module(g);
  Evaluation e = evaluate(g, m, /*train=*/true, nullptr, concurrent);
  if (!ckpt.empty()) runtime::save_checkpoint(ckpt, m);
  return e;
}

}  // namespace chop::flow
