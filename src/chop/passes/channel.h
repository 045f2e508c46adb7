// Channel-width transform (lab 4's redefine_linear): per-layer multipliers that propagate.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "chop/passes/pass.h"

namespace chop::passes {

/// One layer's `config` table: name = "output_only" | "both" | "input_only" | "NA".
/// output_only and both multiply the layer's output width (out_features / out_channels);
/// input_only and NA leave it. A layer's input width always follows what reaches it, so
/// `both`/`input_only` need no `parent` (MASE's key is accepted and only checked to exist).
struct ChannelLayerConfig {
  std::string name = "NA";
  double channel_multiplier = 1;
  std::string parent;

  bool scales_output() const { return name == "output_only" || name == "both"; }
};

/// `[passes.redefine_linear]`: by = "name" (keys are node names) or "type" (keys "linear",
/// "conv2d"); `default.config` applies to every other Linear/Conv2d; inherit = true makes the
/// rebuilt module copy the overlapping part of trained weights into resized tensors.
struct ChannelOptions {
  std::string by = "name";
  ChannelLayerConfig default_config;
  std::vector<std::pair<std::string, ChannelLayerConfig>> layers;  ///< in file order
  bool inherit = false;

  /// Reads the table; throws ConfigError for unknown keys, an unknown `name`, a multiplier <= 0.
  static ChannelOptions read(OptionReader& r);
  /// Sets the multiplier of one layer (name = "output_only"): what a search trial samples.
  ChannelOptions& with_output_multiplier(const std::string& layer, double multiplier);
};

/// Applies the multipliers to g in place: each Linear/Conv2d whose config scales its output
/// gets out * multiplier; then every later node follows (BatchNorm num_features, the next
/// Linear's in_features, Conv2d in_channels, Flatten/pooling via shapes). Shapes are
/// re-inferred. Returns the nodes whose attributes changed. Throws GraphError for an unknown
/// node name, a node that is not Linear/Conv2d, a fractional width, an add of two different
/// widths, or a change of the model's output shape (give that layer name = "input_only").
std::vector<std::string> redefine_channels(ir::Graph& g, const ChannelOptions& options);

CHOP_DECLARE_PASS(RedefineLinearPass, ChannelOptions);

}  // namespace chop::passes
