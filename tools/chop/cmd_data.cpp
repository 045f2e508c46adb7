// `chop data synth jsc|cifar10|mnist --out PATH --rows N --seed S`: synthetic files in real formats.
#include <iostream>

#include "chop/data/synth.h"
#include "commands.h"

namespace chop::cli {

void add_data_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("data", "Data set tools");
  cmd->require_subcommand(1);
  auto* synth = cmd->add_subcommand(
      "synth", "Write a small synthetic data set in the real file format (labelled synthetic)");
  struct Args {
    std::string dataset, out;
    int64_t rows = 1000;
    uint64_t seed = 0;
  };
  auto a = std::make_shared<Args>();
  synth->add_option("dataset", a->dataset, "jsc, cifar10, mnist or fashion-mnist")->required();
  synth->add_option("--out", a->out, "File (jsc: .h5 or .csv) or directory to write")->required();
  synth->add_option("--rows", a->rows, "Rows (training samples)")->capture_default_str();
  synth->add_option("--seed", a->seed, "Random seed")->capture_default_str();
  synth->callback([a] {
    for (const auto& path : data::write_synthetic(a->dataset, a->out, a->rows, a->seed))
      std::cout << "written: " << path << "\n";
  });
}

}  // namespace chop::cli
