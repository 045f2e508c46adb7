// Fuzz target `config`: TOML text -> everything chop reads and checks from a config before any
// work starts, as `chop search|train|transform|graph --config f.toml` do it: the TOML parse, the
// run settings (apply_toml + the [model] / model_file rules of RunFlags::resolve + finalize),
// the resolved JSON, threads and device, training options, the data set's info (no data is
// loaded), the model graph (zoo or [model] table), [passes] tables, [search] (runners, metrics,
// sampler, pruner, space with every choice checked), and the first trial's graph: one sampled
// point of the space through the transforms (graph only, no module, no training).
//
// Files named by the config are other targets' business: `load` and `model_file` are dropped
// after resolution, and data set `csv` reads a small fixed CSV from the scratch directory.
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>

#include "chop/data/registry.h"
#include "chop/flow/model_source.h"
#include "chop/flow/search_config.h"
#include "chop/flow/search_space.h"
#include "chop/flow/train_options.h"
#include "chop/flow/transforms.h"
#include "chop/passes/pass_manager.h"
#include "chop/results/metric_info.h"
#include "chop/runtime/module.h"
#include "chop/search/pruners/pruner.h"
#include "chop/search/samplers/sampler.h"
#include "chop/search/study.h"
#include "chop/support/error.h"
#include "chop/support/run_config.h"
#include "chop/support/strings.h"
#include "chop/support/toml.h"
#include "fuzz_util.h"

namespace {

using namespace chop;

const std::string& csv_file() {
  static const std::string path = [] {
    const std::string text = "a,b,c,label\n0.5,1,2,0\n1.5,-1,0,1\n2,3,4,1\n0,0,0,0\n1,1,1,0\n";
    return fuzz::write_scratch("data.csv", reinterpret_cast<const uint8_t*>(text.data()), text.size());
  }();
  return path;
}

/// RunFlags::resolve (tools/chop/run_flags.cpp) without command-line flags.
RunConfig resolve(const nlohmann::ordered_json& toml) {
  RunConfig c;
  apply_toml(c, toml, {});
  const bool table = toml.contains("model") && toml["model"].is_object();
  if (table || !c.model_file.empty()) {
    CHOP_CHECK(!(table && !c.model_file.empty()), ConfigError, "[model] and model_file");
    c.model.clear();
    if (table)
      c.model = toml["model"].contains("name") && toml["model"]["name"].is_string()
                    ? toml["model"]["name"].get<std::string>()
                    : "custom";
    else
      c.model = std::filesystem::path(c.model_file).stem().string();
  }
  finalize(c);
  return c;
}

bool has_measure_pass(const passes::PassManager& pm) {
  for (const auto& name : pm.names())
    if (name == "profile_statistics" || name == "latency") return true;
  return false;
}

void run(const std::string& text) {
  const nlohmann::ordered_json toml = parse_toml(text, "fuzz.toml");
  RunConfig c = resolve(toml);
  c.load.clear();
  c.model_file.clear();
  if (c.dataset == "csv") c.data_path = csv_file();

  (void)to_json(c, toml).dump(2);
  runtime::set_threads(c.num_threads);
  runtime::set_threads(1);
  (void)runtime::parse_accelerator(c.accelerator);
  (void)flow::train_options(c);

  // [search] is read first (chop search), then the data set, the model and the space.
  flow::SearchConfig cfg;
  const bool search = toml.contains("search");
  if (search) {
    cfg = flow::read_search_config(toml["search"]);
    (void)cfg.to_json().dump(2);
    (void)cfg.objectives();
    for (const auto& sw : cfg.sw_runners) (void)flow::train_options(c, &sw);
  }
  // [passes] (chop transform): every table is checked before anything is loaded.
  std::optional<passes::PassManager> pm;
  if (toml.contains("passes")) pm = passes::PassManager::from_toml(toml["passes"]);

  const data::DatasetInfo info = data::dataset_info(flow::data_options(c));
  ir::Graph g = flow::run_graph(c, info, toml);
  g.lint();

  if (pm && !has_measure_pass(*pm)) {
    ir::Graph t = g;
    passes::PassContext ctx;
    pm->run(t, ctx);
  }
  if (!search) return;

  // flow::run_search's setup(), with an in-memory study, and the first trial's transforms.
  auto space = flow::make_search_space(cfg, g);
  (void)space->parameters();
  const uint64_t seed = static_cast<uint64_t>(cfg.setup.seed >= 0 ? cfg.setup.seed : c.seed);
  search::StudyOptions so;
  so.directions.clear();
  for (const auto& objective : cfg.objectives())
    so.directions.push_back(objective.maximize ? search::StudyDirection::Maximize
                                               : search::StudyDirection::Minimize);
  so.sampler = search::make_sampler(cfg.setup.sampler, seed, cfg.setup.sampler_options);
  so.sampler->set_search_space(space->distributions());
  so.pruner = search::make_pruner(cfg.setup.pruner, cfg.setup.pruner_options);
  so.dedup = cfg.setup.dedup;
  const auto sw_metrics = results::metric_names(/*hardware=*/false);
  CHOP_CHECK(std::find(sw_metrics.begin(), sw_metrics.end(), cfg.setup.pruning_metric) != sw_metrics.end(),
             ConfigError, "pruning_metric must be a software metric ({}), but got '{}'", join(sw_metrics),
             cfg.setup.pruning_metric);
  search::Study study(so);
  search::Trial trial = study.ask();
  const nlohmann::ordered_json tables = space->sample(trial);
  (void)nlohmann::json::parse(tables.dump());
  ir::Graph t = flow::apply_transforms(g, tables);
  std::vector<flow::HardwareRunner> graph_only;
  for (const auto& r : cfg.hw_runners)
    if (r.name != "latency") graph_only.push_back(r);
  (void)flow::measure_hardware(graph_only, t, nullptr);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    run(std::string(reinterpret_cast<const char*>(data), size));
  } catch (const chop::Error& e) {
    // bad input: one clear chop::Error is the expected outcome (CHOP_FUZZ_VERBOSE=1 prints it,
    // to see how far a seed gets)
    if (std::getenv("CHOP_FUZZ_VERBOSE")) std::cerr << "chop::Error: " << e.what() << "\n";
  }
  return 0;
}
