// The quantize transform (MASE's format, by type or by name) and summarize_quantization.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "chop/passes/pass.h"

namespace chop::passes {

/// One target's `config` table, resolved to precisions. name = "integer" | "minifloat" | "NA".
/// integer: <t>_width for t in data_in, weight, bias, and `scaling`:
///   "frac" (MASE; the default when any <t>_frac_width key is there, even "NA"): <t>_frac_width
///   ("NA": width // 2);
///   "stats" (the default otherwise) or "learned": no frac width; `range` ("minmax" or a
///   quantile in (0, 1]), `power_of_two` (true), `per_channel` (false), `signed` ("auto" or
///   true), `calibration_batches` (8) — see ir::Scaling and quant::TensorQuantizer.
/// minifloat: <t>_width, <t>_exponent_width, <t>_exponent_bias (absent: 2^(e-1) - 1).
/// A tensor without a width stays float32; a width < 1 is an error. bypass = true leaves the
/// node untouched.
struct QuantConfig {
  std::string name = "NA";
  bool bypass = false;
  ir::Precision data_in, weight, bias;

  bool applies() const { return name != "NA" && !bypass; }
};

/// `[passes.quantize]`: by = "type" (keys linear, conv2d, relu, add) or "name" (node names);
/// `default.config` applies to every other quantizable node; report = true adds the summary.
struct QuantizeOptions {
  std::string by = "type";
  bool report = false;
  QuantConfig default_config;
  std::vector<std::pair<std::string, QuantConfig>> targets;  ///< in file order

  static QuantizeOptions read(OptionReader& r);
};

/// Sets node precisions as options say (linear/conv2d: data_in, weight, bias; relu/add:
/// data_in) and records each change in node.info["quantize"] = {tensor: {from, to}}.
/// Returns the nodes changed. Throws GraphError for an unknown node or a node chop cannot
/// quantize named by name.
std::vector<std::string> quantize_graph(ir::Graph& g, const QuantizeOptions& options);

CHOP_DECLARE_PASS(QuantizePass, QuantizeOptions);
CHOP_DECLARE_PASS(SummarizeQuantizationPass, NoOptions);

}  // namespace chop::passes
