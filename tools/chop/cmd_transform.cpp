// `chop transform MODEL DATASET --config f.toml [--load CKPT]` and `chop describe-pass NAME`.
#include <fmt/format.h>

#include <iostream>
#include <memory>

#include "chop/data/data_module.h"
#include "chop/data/registry.h"
#include "chop/flow/model_source.h"
#include "chop/passes/measure.h"
#include "chop/passes/pass_manager.h"
#include "chop/runtime/checkpoint.h"
#include "chop/support/error.h"
#include "chop/support/table.h"
#include "commands.h"
#include "run_flags.h"

namespace chop::cli {
namespace {

void run_transform(RunFlags& flags) {
  RunConfig c = flags.resolve();
  CHOP_CHECK(!c.dataset.empty(), ConfigError, "chop transform needs a DATASET (see `chop list datasets`)");
  CHOP_CHECK(flags.toml.contains("passes"), ConfigError,
             "chop transform needs --config with [passes.<name>] tables (see `chop list passes`)");
  // Every table is checked before anything is loaded or run.
  auto pm = passes::PassManager::from_toml(flags.toml["passes"]);
  if (c.num_threads > 0) torch::set_num_threads(static_cast<int>(c.num_threads));
  torch::Device device = runtime::parse_accelerator(c.accelerator);
  std::unique_ptr<data::DataModule> dm;
  auto names = pm.names();
  if (std::find(names.begin(), names.end(), "profile_statistics") != names.end())
    dm = std::make_unique<data::DataModule>(flow::data_options(c));
  auto module = flow::run_module(c.model, c.load, data::dataset_info(c.dataset), flags.toml,
                                 static_cast<uint64_t>(c.seed), device);
  ir::Graph g = module->graph();
  passes::PassContext ctx;
  ctx.data = dm.get();
  ctx.module = module.ptr();
  ctx.seed = static_cast<uint64_t>(c.seed);
  pm.run(g, ctx, [&](size_t i, const passes::PassRecord& r) {
    std::cout << fmt::format("== pass {}: {}{}\n", i + 1, r.name, r.cached ? " (cached)" : "")
              << r.result.report;
  });
  runtime::GraphModule result(passes::module_for(g, ctx));
  std::string dir = c.software_dir() + "/transform";
  write_json_file(dir + "/resolved_config.json", to_json(c));
  runtime::save_checkpoint(dir + "/transformed_ckpt", result);
  std::cout << "transformed checkpoint: " << dir << "/transformed_ckpt\n";
}

void describe_pass(const std::string& name) {
  const passes::PassInfo& p = passes::pass_info(name);
  std::cout << fmt::format("{} ({}): {}\noptions: {}\n", p.name, passes::pass_kind_name(p.kind),
                           p.description, p.options_type);
  auto docs = p.option_docs();
  if (docs.empty()) {
    std::cout << "(no options)\n";
    return;
  }
  Table t({"key", "default", "meaning"});
  for (const auto& d : docs) t.add_row({d.key, d.default_value, d.help});
  std::cout << t.render();
  std::cout << fmt::format("TOML: [passes.{}] then the keys above\n", p.name);
}

}  // namespace

void add_transform_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "transform", "Run the [passes.<name>] tables of --config in file order; save the result");
  auto flags = add_run_flags(cmd, {"model", "dataset"});
  cmd->callback([flags] { run_transform(*flags); });
}

void add_describe_pass_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("describe-pass", "Show what a pass does and its options");
  auto name = std::make_shared<std::string>();
  cmd->add_option("name", *name, "Pass name (see `chop list passes`)")->required();
  cmd->callback([name] { describe_pass(*name); });
}

}  // namespace chop::cli
