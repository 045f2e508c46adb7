// `chop list models`: what the registries hold.
#include <iostream>

#include "chop/data/registry.h"
#include "chop/models/zoo.h"
#include "chop/passes/hardware_metrics.h"
#include "chop/passes/pass.h"
#include "chop/results/metric_info.h"
#include "chop/search/pruners/pruner.h"
#include "chop/search/samplers/sampler.h"
#include "chop/support/strings.h"
#include "chop/support/table.h"
#include "commands.h"

namespace chop::cli {

void add_list_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("list", "List what chop knows: models, datasets, samplers, pruners, passes, metrics");
  auto what = std::make_shared<std::string>();
  cmd->add_option("what", *what, "What to list")->required()->check(CLI::IsMember({"models", "datasets", "samplers", "pruners", "passes", "metrics"}));
  cmd->callback([what] {
    if (*what == "models") {
      Table t({"model", "input", "classes", "description"});
      for (const auto& m : models::model_registry())
        t.add_row({m.name, ir::shape_str(m.default_input_shape),
                   std::to_string(m.default_num_classes), m.description});
      std::cout << t.render();
    }
    if (*what == "datasets") {
      Table t({"dataset", "input", "classes", "description"});
      for (const auto& d : data::dataset_registry()) {
        std::string shape = "from file", classes = "from file";
        if (std::string(d.name) != "csv") {
          auto info = data::dataset_info(d.name);
          shape = ir::shape_str(info.input_shape);
          classes = std::to_string(info.num_classes);
        }
        t.add_row({d.name, shape, classes, d.description});
      }
      std::cout << t.render();
    }
    if (*what == "samplers") {
      Table t({"sampler", "description"});
      for (const auto& s : search::sampler_registry()) t.add_row({s.name, s.description});
      std::cout << t.render() << "aliases: bruteforce, brute_force = grid\n";
    }
    if (*what == "pruners") {
      Table t({"pruner", "description"});
      for (const auto& p : search::pruner_registry()) t.add_row({p.name, p.description});
      std::cout << t.render();
    }
    if (*what == "passes") {
      Table t({"pass", "kind", "options", "description"});
      for (const auto& p : passes::pass_registry())
        t.add_row({p.name, passes::pass_kind_name(p.kind), p.options_type, p.description});
      std::cout << t.render();
    }
    if (*what == "metrics") {
      Table t({"metric", "kind", "unit", "better", "runner options", "description"});
      for (const auto& m : results::metric_registry()) {
        std::vector<std::string> keys;
        if (m.hardware)
          for (const auto& d : passes::hardware_metric(m.name).option_docs()) keys.push_back(d.key + " = " + d.default_value);
        t.add_row({m.name, m.hardware ? "hardware" : "software", m.unit, m.higher_is_better ? "higher" : "lower",
                   keys.empty() ? "-" : join(keys), m.description});
      }
      std::cout << t.render()
                << "software metrics: every [search.strategy.sw_runner.<name>] gives them all; a hardware\n"
                   "metric: its [search.strategy.hw_runner.<name>] table, with the runner options shown\n";
    }
  });
}

}  // namespace chop::cli
