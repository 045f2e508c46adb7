// The one mapping from a run's settings (and a search's basic_train runner) to TrainOptions.
#pragma once

#include "chop/flow/search_config.h"
#include "chop/support/run_config.h"
#include "chop/train/trainer.h"

namespace chop::flow {

/// Training options of `chop train` (runner == nullptr) or of a search's basic_train runner.
/// Precedence, as MASE's: built-in default < TOML top-level key < the runner's own key
/// (max_epochs, max_steps, learning_rate, optimizer) < an explicit flag (--max-epochs ...).
train::TrainOptions train_options(const RunConfig& run, const SoftwareRunner* runner = nullptr);

}  // namespace chop::flow
