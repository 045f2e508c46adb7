// `chop transform MODEL DATASET --config f.toml [--load CKPT]` and `chop describe-pass NAME`.
#include <fmt/format.h>

#include <iostream>
#include <memory>

#include "chop/flow/transform_run.h"
#include "chop/passes/pass.h"
#include "chop/support/error.h"
#include "chop/support/table.h"
#include "commands.h"
#include "run_flags.h"

namespace chop::cli {
namespace {

void run_transform(RunFlags& flags) {
  RunConfig c = flags.resolve();
  auto out = flow::run_transform(c, flags.toml, [](size_t i, const passes::PassRecord& r) {
    std::cout << fmt::format("== pass {}: {}{}\n", i + 1, r.name, r.cached ? " (cached)" : "") << r.result.report;
  });
  std::cout << "transformed checkpoint: " << out.checkpoint << "\n";
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
  auto flags = add_run_flags(cmd, {"model", "dataset"}, RunFlagSet::no_training);
  cmd->callback([flags] { run_transform(*flags); });
}

void add_describe_pass_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("describe-pass", "Show what a pass does and its options");
  auto name = std::make_shared<std::string>();
  cmd->add_option("name", *name, "Pass name (see `chop list passes`)")->required();
  cmd->callback([name] { describe_pass(*name); });
}

}  // namespace chop::cli
