// Trainer: loss decreases, best/last checkpoints and metrics JSON, max_steps, callbacks.
#include <gtest/gtest.h>

#include "unit/train/blobs.h"

#include <filesystem>
#include <fstream>

#include "chop/models/zoo.h"
#include "chop/quant/format.h"
#include "chop/runtime/checkpoint.h"
#include "chop/train/trainer.h"

using namespace chop;
using chop::testing::blobs;
namespace fs = std::filesystem;

namespace {


fs::path fresh_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("chop_trainer_" + name + std::to_string(::getpid()));
  fs::remove_all(d);
  return d;
}

}  // namespace

TEST(Trainer, LearnsAndWritesCheckpoints) {
  auto dm = blobs();
  auto m = runtime::build_module(models::build_model("jsc-toy"), 0);
  auto before = train::evaluate(m, dm, data::SplitKind::val);
  train::TrainOptions o;
  o.max_epochs = 4;
  o.learning_rate = 1e-2;
  o.progress = false;
  o.ckpt_dir = fresh_dir("ckpt").string();
  auto r = train::train(m, dm, o);
  ASSERT_EQ(r.epochs.size(), 4u);
  EXPECT_LT(r.epochs.back().train_loss, r.epochs.front().train_loss);
  EXPECT_LT(r.epochs.back().val.loss, before.loss);
  EXPECT_GT(r.epochs.back().val.accuracy, 0.8);
  EXPECT_TRUE(fs::exists(o.ckpt_dir + "/best.ckpt"));
  EXPECT_TRUE(fs::exists(o.ckpt_dir + "/last.ckpt"));
  // last.ckpt holds the final weights: same validation metrics as the model in memory.
  auto last = runtime::load_checkpoint(o.ckpt_dir + "/last.ckpt");
  EXPECT_DOUBLE_EQ(train::evaluate(last, dm, data::SplitKind::val).loss,
                   train::evaluate(m, dm, data::SplitKind::val).loss);
  // best.ckpt holds the epoch with the lowest validation loss.
  auto best = runtime::load_checkpoint(o.ckpt_dir + "/best.ckpt");
  EXPECT_NEAR(train::evaluate(best, dm, data::SplitKind::val).loss,
              r.epochs[r.best_epoch].val.loss, 1e-6);
  std::ifstream in(o.ckpt_dir + "/metrics.json");
  auto j = nlohmann::json::parse(in);
  EXPECT_EQ(j["epochs"].size(), 4u);
  EXPECT_EQ(j["best_epoch"], r.best_epoch);
}

TEST(Trainer, MaxStepsAndCallbackStop) {
  auto dm = blobs(1000);  // 900 train rows -> 15 batches of 64
  auto m = runtime::build_module(models::build_model("jsc-tiny"), 0);
  train::TrainOptions o;
  o.max_epochs = 10;
  o.max_steps = 20;
  o.progress = false;
  auto r = train::train(m, dm, o);
  EXPECT_EQ(r.steps, 20);
  EXPECT_EQ(r.epochs.size(), 2u);
  o.max_steps = -1;
  int calls = 0;
  auto r2 = train::train(m, dm, o, [&](const train::EpochRecord&) { return ++calls < 3; });
  EXPECT_EQ(r2.epochs.size(), 3u);
  EXPECT_TRUE(r2.stopped_early);
}

TEST(Trainer, SameSeedSameResult) {
  auto run = [] {
    auto dm = blobs(600);
    auto m = runtime::build_module(models::build_model("jsc-toy"), 3);
    train::TrainOptions o;
    o.max_epochs = 2;
    o.progress = false;
    return train::train(m, dm, o).epochs.back().val.loss;
  };
  EXPECT_EQ(run(), run());
}

TEST(Trainer, EvaluateInTrainingModeWhenEvalModeIsFalse) {
  auto dm = blobs(400);
  auto m = runtime::build_module(models::build_model("jsc-toy"), 0);
  const auto mean_before = m->named_buffers()["seq_blocks_0.running_mean"].clone();
  const auto frozen = train::evaluate(m, dm, data::SplitKind::val);
  EXPECT_TRUE(torch::equal(m->named_buffers()["seq_blocks_0.running_mean"], mean_before))
      << "eval mode leaves batch-norm statistics alone";
  const auto batch_stats = train::evaluate(m, dm, data::SplitKind::val, 0, /*eval_mode=*/false);
  EXPECT_FALSE(torch::equal(m->named_buffers()["seq_blocks_0.running_mean"], mean_before))
      << "training mode updates the running statistics, as PyTorch's forward does";
  EXPECT_NE(frozen.loss, batch_stats.loss);
  EXPECT_EQ(frozen.n_samples, batch_stats.n_samples);
  EXPECT_TRUE(m->is_training()) << "the module's mode is restored";
}

TEST(Trainer, CalibratesOnTheTrainingSplitNeverTheReportedOne) {
  // Training data near N(0, 1); validation and test data 1000 times larger. Evaluating an
  // uncalibrated stats model on test must take its ranges from training batches only.
  torch::manual_seed(0);
  data::RawData raw;
  raw.info.name = "blobs";
  raw.info.input_shape = {16};
  raw.info.num_classes = 5;
  raw.train_x = torch::randn({512, 16});
  raw.train_y = torch::randint(0, 5, {512}, torch::kInt64);
  raw.test_x = torch::randn({256, 16}) * 1000;
  raw.test_y = torch::randint(0, 5, {256}, torch::kInt64);
  data::DataOptions o;
  o.dataset = "blobs";
  o.batch_size = 64;
  o.normalize = false;
  o.val_fraction = 0.25;
  data::DataModule dm(std::move(raw), o);
  auto g = models::build_model("jsc-three-linear");
  ir::Scaling s;
  s.kind = ir::Scaling::Kind::Stats;
  s.calibration_batches = 3;
  for (auto& n : g.nodes())
    if (n.op == ir::OpKind::Linear) n.meta.data_in = quant::scaled_integer_precision(8, s);
  auto m = runtime::build_module(g, 0);
  ASSERT_TRUE(m->needs_calibration());
  train::evaluate(m, dm, data::SplitKind::test);
  ASSERT_FALSE(m->needs_calibration());
  // The expected ranges: the first 3 training batches (epoch 0), observed by hand.
  auto want = runtime::build_module(g, 0);
  std::vector<torch::Tensor> batches;
  for (const auto& b : dm.batches(data::SplitKind::train, 0))
    if (batches.size() < 3) batches.push_back(b.x);
  want->calibrate(want->observe_inputs(batches));
  const auto got_buffers = m->named_buffers(), want_buffers = want->named_buffers();
  int ranges = 0;
  for (const auto& b : got_buffers) {
    if (b.key().find("_range") == std::string::npos) continue;
    ++ranges;
    EXPECT_TRUE(torch::equal(b.value(), want_buffers[b.key()])) << b.key();
    EXPECT_LT(b.value().item<double>(), 100) << b.key() << ": a test-split range leaked in";
  }
  EXPECT_GT(ranges, 0);
}
