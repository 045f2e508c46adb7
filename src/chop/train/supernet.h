// Training a weight-sharing width supernet with the sandwich rule.
#pragma once

#include <cstdint>
#include <functional>
#include <random>

#include "chop/data/data_module.h"
#include "chop/ir/graph.h"
#include "chop/runtime/module.h"
#include "chop/train/trainer.h"

namespace chop::train {

struct SupernetOptions {
  TrainOptions train;          ///< optimizer, learning rate, schedule, epochs / steps, progress
  int64_t random_subnets = 2;  ///< random-width subnets per step, beside the largest and smallest
  int64_t batch_size = 0;      ///< 0: the data module's
  /// true: the smaller subnets learn the largest's softened outputs (in-place distillation);
  /// false: the labels.
  bool distill = true;
  /// Linear chains (ManualStep): the smaller subnets' passes run on a second thread beside the
  /// largest's backward pass. Their gradients are summed apart and added to the largest's
  /// either way, so the result does not depend on it.
  bool parallel = false;
};

/// Draws a subnet (a narrowing of the supernet's graph, see GraphModuleImpl::set_active_widths).
using SubnetDraw = std::function<ir::Graph(std::mt19937_64& rng)>;

/// Trains the supernet m (built at the largest widths) on dm's training split. Each step runs
/// the sandwich rule: the largest network on the labels, then the smallest and
/// `random_subnets` random ones on the largest's outputs (or the labels), their gradients
/// summed into the shared weights before one optimizer step. Batch-norm running statistics
/// are left as training mixed them: recalibrate each subnet before it is scored. `stop`, when
/// given, is polled every step (Ctrl-C): true ends training early.
TrainResult train_supernet(runtime::GraphModule& m, const data::DataModule& dm, const SupernetOptions& options,
                           const ir::Graph& smallest, const SubnetDraw& draw, uint64_t seed,
                           const std::function<bool()>& stop = {});

}  // namespace chop::train
