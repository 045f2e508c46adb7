// `chop transform`: the [passes.<name>] tables of a config run on a run's model, result saved.
#include "chop/flow/transform_run.h"

#include <algorithm>
#include <memory>

#include "chop/data/data_module.h"
#include "chop/data/registry.h"
#include "chop/flow/model_source.h"
#include "chop/passes/measure.h"
#include "chop/runtime/checkpoint.h"
#include "chop/support/error.h"
#include "chop/support/files.h"

namespace chop::flow {

TransformOutcome run_transform(const RunConfig& c, const nlohmann::ordered_json& toml,
                               const std::function<void(size_t, const passes::PassRecord&)>& on_pass) {
  CHOP_CHECK(!c.dataset.empty(), ConfigError, "chop transform needs a DATASET (see `chop list datasets`)");
  CHOP_CHECK(toml.contains("passes"), ConfigError,
             "chop transform needs --config with [passes.<name>] tables (see `chop list passes`)");
  // Every table is checked before anything is loaded or run.
  auto pm = passes::PassManager::from_toml(toml["passes"]);
  if (c.num_threads > 0) torch::set_num_threads(static_cast<int>(c.num_threads));
  torch::Device device = runtime::parse_accelerator(c.accelerator);
  std::unique_ptr<data::DataModule> dm;
  auto names = pm.names();
  if (std::find(names.begin(), names.end(), "profile_statistics") != names.end())
    dm = std::make_unique<data::DataModule>(data_options(c));
  auto module = run_module(c, data::dataset_info(c.dataset), toml, static_cast<uint64_t>(c.seed), device);
  ir::Graph g = module->graph();
  passes::PassContext ctx;
  ctx.data = dm.get();
  ctx.module = module.ptr();
  ctx.seed = static_cast<uint64_t>(c.seed);
  pm.run(g, ctx, on_pass);
  runtime::GraphModule result(passes::module_for(g, ctx));
  TransformOutcome out;
  out.out_dir = c.software_dir() + "/transform";
  out.checkpoint = out.out_dir + "/transformed_ckpt";
  write_file_atomically(out.out_dir + "/resolved_config.json", to_json(c, toml).dump(2) + "\n");
  runtime::save_checkpoint(out.checkpoint, result);
  return out;
}

}  // namespace chop::flow
