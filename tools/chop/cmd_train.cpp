// `chop train MODEL DATASET` and `chop test MODEL DATASET --load CKPT` (MASE's ch train/test).
#include <fmt/format.h>

#include <iostream>

#include "chop/data/data_module.h"
#include "chop/flow/model_source.h"
#include "chop/flow/train_options.h"
#include "chop/runtime/module.h"
#include "chop/support/error.h"
#include "chop/support/table.h"
#include "chop/train/trainer.h"
#include "commands.h"
#include "run_flags.h"

namespace chop::cli {
namespace {

std::string f4(double v) { return fmt::format("{:.4f}", v); }

/// A table of the metrics users compare.
std::string metrics_table(const train::ClassificationMetrics& m) {
  Table t({"metric", "value"});
  t.add_row({"loss", f4(m.loss)});
  t.add_row({"accuracy", f4(m.accuracy)});
  t.add_row({"precision (macro)", f4(m.precision_macro)});
  t.add_row({"recall (macro)", f4(m.recall_macro)});
  t.add_row({"f1 (macro)", f4(m.f1_macro)});
  t.add_row({"precision (weighted)", f4(m.precision_weighted)});
  t.add_row({"recall (weighted)", f4(m.recall_weighted)});
  t.add_row({"f1 (weighted)", f4(m.f1_weighted)});
  t.add_row({"samples", std::to_string(m.n_samples)});
  return t.render();
}

/// Device and threads of a resolved run.
torch::Device setup_device(const RunConfig& c) {
  runtime::set_threads(c.num_threads);
  return runtime::parse_accelerator(c.accelerator);
}

void run_train(RunFlags& flags) {
  RunConfig c = flags.resolve();
  CHOP_CHECK(!c.dataset.empty(), ConfigError, "chop train needs a DATASET (see `chop list datasets`)");
  torch::Device device = setup_device(c);
  std::string out_dir = c.software_dir() + "/training_ckpts";
  data::DataModule dm(flow::data_options(c));
  auto m = flow::run_module(c, dm.info(), flags.toml, c.seed, device);  // checked before anything is written
  std::cerr << dm.summary() << "\n";
  write_json_file(out_dir + "/resolved_config.json", to_json(c, flags.toml));
  train::TrainOptions o = flow::train_options(c);
  o.ckpt_dir = out_dir;
  auto result = train::train(m, dm, o);
  CHOP_CHECK(!result.epochs.empty(), ConfigError, "nothing was trained (max_epochs or max_steps is 0)");
  const auto& best = result.epochs[result.best_epoch];
  std::cout << fmt::format("best epoch {} of {} (validation):\n", result.best_epoch + 1,
                           result.epochs.size());
  std::cout << metrics_table(best.val);
  std::cout << "best checkpoint: " << result.best_ckpt << "\n";
  std::cout << "last checkpoint: " << result.last_ckpt << "\n";
  std::cout << "metrics per epoch: " << out_dir << "/metrics.json\n";
}

void run_test(RunFlags& flags) {
  RunConfig c = flags.resolve();
  CHOP_CHECK(!c.dataset.empty(), ConfigError, "chop test needs a DATASET (see `chop list datasets`)");
  CHOP_CHECK(!c.load.empty(), ConfigError, "chop test needs --load CHECKPOINT (e.g. .../training_ckpts/best.ckpt)");
  torch::Device device = setup_device(c);
  data::DataModule dm(flow::data_options(c));
  auto m = flow::run_module(c, dm.info(), flags.toml, c.seed, device);
  auto metrics = train::evaluate(m, dm, data::SplitKind::test);
  std::cout << fmt::format("test metrics of {} on {}:\n", c.load, c.dataset);
  std::cout << metrics_table(metrics);
  std::string path = c.software_dir() + "/test/metrics.json";
  nlohmann::ordered_json j = metrics.to_json();
  j["checkpoint"] = c.load;
  j["dataset"] = c.dataset;
  write_json_file(path, j);
  std::cout << "written: " << path << "\n";
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "Train a model on a data set (MASE's `ch train`)");
  auto flags = add_run_flags(cmd, {"model", "dataset"});
  cmd->callback([flags] { run_train(*flags); });
}

void add_test_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("test", "Evaluate a checkpoint on a data set's test split");
  auto flags = add_run_flags(cmd, {"model", "dataset"}, RunFlagSet::no_training);
  cmd->callback([flags] { run_test(*flags); });
}

}  // namespace chop::cli
