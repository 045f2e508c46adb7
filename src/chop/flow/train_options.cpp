// The one mapping from a run's settings (and a search's basic_train runner) to TrainOptions.
#include "chop/flow/train_options.h"

namespace chop::flow {

train::TrainOptions train_options(const RunConfig& run, const SoftwareRunner* runner) {
  train::TrainOptions t;
  t.optimizer = run.training_optimizer;
  t.learning_rate = run.learning_rate;
  t.weight_decay = run.weight_decay;
  t.scheduler = run.scheduler;
  t.max_epochs = run.max_epochs;
  t.max_steps = run.max_steps;
  t.early_stopping = run.early_stopping;
  if (!runner) return t;
  if (!run.is_explicit("training_optimizer") && !runner->optimizer.empty()) t.optimizer = runner->optimizer;
  if (!run.is_explicit("learning_rate") && runner->learning_rate > 0) t.learning_rate = runner->learning_rate;
  if (!run.is_explicit("max_epochs")) t.max_epochs = runner->max_epochs;
  if (!run.is_explicit("max_steps")) t.max_steps = runner->max_steps;
  t.early_stopping = 0;  // a trial trains its epochs; pruners stop it early
  return t;
}

}  // namespace chop::flow
