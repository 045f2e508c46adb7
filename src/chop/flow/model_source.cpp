// Where a run's model comes from: a checkpoint, a [model] table in the config, or the zoo.
#include "chop/flow/model_source.h"

#include "chop/interchange/onnx_import.h"
#include "chop/models/custom_model.h"
#include "chop/models/zoo.h"
#include "chop/runtime/checkpoint.h"
#include "chop/support/error.h"

namespace chop::flow {
namespace {

void check_fits(const ir::Graph& g, const data::DatasetInfo& d, const std::string& where) {
  CHOP_CHECK(g.input_shape() == d.input_shape, ConfigError,
             "{} takes inputs of shape {}, but data set '{}' has {}", where,
             ir::shape_str(g.input_shape()), d.name, ir::shape_str(d.input_shape));
  const auto& out = g.nodes().back().meta.out_shape;
  CHOP_CHECK(out.size() == 1 && out[0] == d.num_classes, ConfigError,
             "{} has {} outputs, but data set '{}' has {} classes", where, ir::shape_str(out),
             d.name, d.num_classes);
}

}  // namespace

data::DataOptions data_options(const RunConfig& c) {
  data::DataOptions o;
  o.dataset = c.dataset;
  o.data_path = c.data_path;
  o.data_dir = c.data_dir;
  o.batch_size = c.batch_size;
  o.seed = static_cast<uint64_t>(c.seed);
  o.val_fraction = c.val_fraction;
  o.num_samples = c.num_samples;
  return o;
}

namespace {

/// The user's model file with its weights, checked against the data set.
runtime::GraphModule imported(const RunConfig& run, const data::DatasetInfo& dataset, torch::Device device) {
  interchange::ImportOptions o;
  o.model_name = run.model;
  // The shape the file fixes, so a mismatch with the data set is named as one; else the data set's.
  o.default_input_shape = dataset.input_shape;
  auto m = interchange::import_model(run.model_file, o, device);
  check_fits(m->graph(), dataset, "model file '" + run.model_file + "'");
  return m;
}

}  // namespace

ir::Graph run_graph(const RunConfig& run, const data::DatasetInfo& dataset,
                    const nlohmann::ordered_json& config_toml) {
  if (!run.model_file.empty()) return imported(run, dataset, torch::kCPU)->graph();
  if (config_toml.contains("model") && config_toml["model"].is_object()) {
    ir::Graph g = models::build_custom_model(config_toml["model"]);
    check_fits(g, dataset, "the [model] of the config");
    return g;
  }
  CHOP_CHECK(!run.model.empty(), ConfigError,
             "no model given: name one (see `chop list models`), pass --model-file, or declare [model] in the config");
  return models::build_model(run.model, models::ModelOptions()
                                            .with_input_shape(dataset.input_shape)
                                            .with_num_classes(dataset.num_classes));
}

runtime::GraphModule run_module(const RunConfig& run, const data::DatasetInfo& dataset,
                                const nlohmann::ordered_json& config_toml, uint64_t seed,
                                torch::Device device) {
  const std::string& load = run.load;
  if (load.empty()) {
    if (!run.model_file.empty() && !run.reinit) return imported(run, dataset, device);
    return runtime::build_module(run_graph(run, dataset, config_toml), seed, device);
  }
  auto m = runtime::load_checkpoint(load, device);
  check_fits(m->graph(), dataset, "checkpoint '" + load + "'");
  const bool custom = config_toml.contains("model") && config_toml["model"].is_object();
  CHOP_CHECK(custom || run.model.empty() || m->graph().model_name() == run.model, ConfigError,
             "checkpoint '{}' holds model '{}', not '{}': name {} (or the checkpoint of a {})", load,
             m->graph().model_name(), run.model, m->graph().model_name(), run.model);
  return m;
}

}  // namespace chop::flow
