// `chop export CKPT --format onnx|qonnx --out F` and `chop export --model-file M [--config f.toml]`.
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <optional>

#include "chop/data/registry.h"
#include "chop/interchange/onnx_export.h"
#include "chop/interchange/onnx_import.h"
#include "chop/passes/measure.h"
#include "chop/passes/pass_manager.h"
#include "chop/runtime/checkpoint.h"
#include "chop/support/error.h"
#include "chop/support/toml.h"
#include "commands.h"

namespace chop::cli {
namespace {

struct ExportArgs {
  std::string checkpoint, model_file, config, input_shape, dataset, format = "onnx", out;
  bool fold_bn = false;
};

void run_export(const ExportArgs& a) {
  CHOP_CHECK(a.checkpoint.empty() != a.model_file.empty(), ConfigError,
             "chop export takes a checkpoint (CKPT) or --model-file FILE.pt, one of them");
  CHOP_CHECK(!a.out.empty(), ConfigError, "chop export needs --out FILE.onnx");
  interchange::ExportOptions o;
  o.format = interchange::parse_export_format(a.format);
  o.fold_bn = a.fold_bn;
  // Every table is checked before the model is read.
  std::optional<passes::PassManager> pm;
  if (!a.config.empty()) {
    auto toml = load_toml(a.config);
    CHOP_CHECK(toml.contains("passes"), ConfigError, "{}: no [passes.<name>] tables to apply before the export", a.config);
    pm = passes::PassManager::from_toml(toml["passes"]);
  }
  runtime::GraphModule module(nullptr);
  if (!a.checkpoint.empty()) {
    module = runtime::load_checkpoint(a.checkpoint);
  } else {
    interchange::ImportOptions io;
    if (!a.dataset.empty()) io.input_shape = data::dataset_info(a.dataset).input_shape;
    if (!a.input_shape.empty()) io.input_shape = parse_shape(a.input_shape);
    module = interchange::import_model(a.model_file, io);
  }
  if (pm) {
    ir::Graph g = module->graph();
    passes::PassContext ctx;
    ctx.module = module.ptr();
    pm->run(g, ctx);
    module = runtime::GraphModule(passes::module_for(g, ctx));
    CHOP_CHECK(!module->needs_calibration(), ConfigError,
               "{}: its quantization takes scales from data (stats / learned); calibrate it first with chop "
               "transform or chop search, then export the checkpoint", a.config);
  }
  auto summary = interchange::export_onnx(module, o, a.out);
  std::cout << fmt::format("{}: {} ({} ONNX nodes, {} Quant)\n", a.format, a.out, summary.nodes, summary.quant_nodes);
}

}  // namespace

void add_export_command(CLI::App& app) {
  auto a = std::make_shared<ExportArgs>();
  auto* cmd = app.add_subcommand("export", "Write a model as ONNX (float) or QONNX (with its quantization) for hls4ml / FINN");
  cmd->add_option("checkpoint", a->checkpoint, "A chop checkpoint (best.ckpt of a search, a training or transform checkpoint)");
  cmd->add_option("--model-file", a->model_file, "Your own model (TorchScript .pt or ONNX .onnx) instead of a checkpoint");
  cmd->add_option("--config", a->config, "Apply this config's [passes] (e.g. a quantization) before the export");
  cmd->add_option("--input-shape", a->input_shape, "With --model-file: input shape without batch, e.g. 1,28,28");
  cmd->add_option("--dataset", a->dataset, "With --model-file: take the input shape of this data set");
  cmd->add_option("--format", a->format, "onnx (float, opset 13) or qonnx (Quant nodes with each tensor's scale)")
      ->capture_default_str();
  cmd->add_option("--out", a->out, "File to write (.onnx)");
  cmd->add_flag("--fold-bn", a->fold_bn, "Fold each BatchNorm into the Linear / Conv2d before it (onnx only)");
  cmd->callback([a] { run_export(*a); });
}

}  // namespace chop::cli
