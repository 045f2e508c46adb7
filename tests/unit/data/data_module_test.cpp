// Tests of the DataModule (splits, shuffling, limits, normalization) and the registry.
#include "chop/data/data_module.h"
#include "chop/data/registry.h"
#include "chop/data/synth.h"
#include "data_test_util.h"

namespace chop::data {
namespace {

/// A pool of n rows, 3 features (row index, its square, a constant), label row % 4.
RawData pool(int64_t n) {
  RawData raw;
  raw.info.name = "toy";
  raw.info.input_shape = {3};
  raw.info.num_classes = 4;
  const torch::Tensor i = torch::arange(n, torch::kFloat32);
  raw.train_x = torch::stack({i, i * i, torch::full_like(i, 7.0f)}, 1);
  raw.train_y = torch::arange(n, torch::kInt64).remainder(4);
  raw.source = "toy.csv";
  return raw;
}

DataOptions toy_options() {
  DataOptions o;
  o.batch_size = 16;
  return o;
}

TEST(Registry, ListsNamesAndSuggestsOnTypos) {
  EXPECT_EQ(dataset_names(),
            (std::vector<std::string>{"fashion-mnist", "mnist", "cifar10", "jsc", "csv"}));
  for (const auto& entry : dataset_registry()) EXPECT_GT(std::string(entry.description).size(), 10u);
  try {
    find_dataset("fashoin-mnist");
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("fashoin-mnist"), std::string::npos) << what;
    EXPECT_NE(what.find("fashion-mnist"), std::string::npos) << what;
    EXPECT_NE(what.find("cifar10"), std::string::npos) << what;
  }
}

TEST(Registry, InfoWithoutLoading) {
  DataOptions o;
  o.data_dir = "/nonexistent";  // nothing is read
  o.dataset = "fashion-mnist";
  EXPECT_EQ(dataset_info(o).input_shape, (std::vector<int64_t>{1, 28, 28}));
  EXPECT_EQ(dataset_info(o).num_classes, 10);
  o.dataset = "cifar10";
  EXPECT_EQ(dataset_info(o).input_shape, (std::vector<int64_t>{3, 32, 32}));
  const DatasetInfo jsc = dataset_info("jsc");
  EXPECT_EQ(jsc.input_shape, (std::vector<int64_t>{16}));
  EXPECT_EQ(jsc.num_classes, 5);
  EXPECT_EQ(jsc.feature_names.front(), "j_zlogz");
  EXPECT_EQ(dataset_info("mnist").class_names.size(), 10u);
  EXPECT_THROW(dataset_info("imagenet"), ConfigError);
  EXPECT_EQ(data_location(o), "/nonexistent");
}

TEST(DataModule, SplitsPoolEightyTwentyThenValFromTrain) {
  const DataModule dm(pool(1000), toy_options());
  EXPECT_EQ(dm.test().size(), 200);
  EXPECT_EQ(dm.val().size(), 80);
  EXPECT_EQ(dm.train().size(), 720);
  // Disjoint and complete: the row-index feature (de-normalized) covers 0..999 once.
  const auto& norm = dm.normalization();
  auto rows = [&](const Split& s) {
    return (s.x.select(1, 0) * norm.stddev[0] + norm.mean[0]).round().to(torch::kInt64);
  };
  const torch::Tensor all = torch::cat({rows(dm.train()), rows(dm.val()), rows(dm.test())});
  EXPECT_TRUE(torch::equal(std::get<0>(all.sort()), torch::arange(1000, torch::kInt64)));
  // Labels travel with their rows.
  EXPECT_TRUE(torch::equal(rows(dm.test()).remainder(4), dm.test().y));
  // A constant feature keeps std 1 and maps to 0, not NaN.
  EXPECT_EQ(norm.stddev[2], 1.0);
  EXPECT_EQ(dm.train().x.select(1, 2).abs().max().item<float>(), 0.0f);
  EXPECT_NE(dm.summary().find("train 720, val 80, test 200"), std::string::npos) << dm.summary();
}

TEST(DataModule, SeededShufflingPerEpoch) {
  const DataModule dm(pool(300), toy_options());
  auto labels_of = [](const BatchList& batches) {
    std::vector<torch::Tensor> ys;
    for (const Batch& b : batches) ys.push_back(b.y);
    return torch::cat(ys);
  };
  auto xs_of = [](const BatchList& batches) {
    std::vector<torch::Tensor> xs;
    for (const Batch& b : batches) xs.push_back(b.x);
    return torch::cat(xs);
  };
  const BatchList e0 = dm.batches(SplitKind::train, 0);
  EXPECT_EQ(e0.size(), dm.num_batches(SplitKind::train));
  EXPECT_EQ(e0.size(), (dm.train().size() + 15) / 16);
  EXPECT_TRUE(torch::equal(xs_of(e0), xs_of(dm.batches(SplitKind::train, 0))));
  EXPECT_FALSE(torch::equal(xs_of(e0), xs_of(dm.batches(SplitKind::train, 1))));
  // A shuffled epoch is gathered once: asked again (the next trial of a search), the same tensor.
  EXPECT_EQ((*dm.batches(SplitKind::train, 0).begin()).x.data_ptr(), (*e0.begin()).x.data_ptr());
  const DataModule copy = dm;  // copies share the epochs
  EXPECT_EQ((*copy.batches(SplitKind::train, 1).begin()).y.data_ptr(),
            (*dm.batches(SplitKind::train, 1).begin()).y.data_ptr());
  // Every epoch is a permutation of the training split.
  EXPECT_TRUE(torch::equal(std::get<0>(xs_of(e0).select(1, 0).sort()),
                           std::get<0>(dm.train().x.select(1, 0).sort())));
  EXPECT_TRUE(torch::equal(labels_of(e0).bincount(), dm.train().y.bincount()));
  // Another seed, another order; the same seed in another module, the same order.
  DataOptions other = toy_options();
  other.seed = 5;
  EXPECT_FALSE(torch::equal(xs_of(e0), xs_of(DataModule(pool(300), other).batches(SplitKind::train, 0))));
  EXPECT_TRUE(torch::equal(xs_of(e0), xs_of(DataModule(pool(300), toy_options()).batches(SplitKind::train, 0))));
  // Val and test are not shuffled.
  EXPECT_TRUE(torch::equal(xs_of(dm.batches(SplitKind::test, 3)), dm.test().x));
  // Batch sizes: full batches, then the remainder; drop_last drops it.
  const int64_t n = dm.train().size();
  EXPECT_EQ(e0[0].x.size(0), 16);
  EXPECT_EQ(e0[e0.size() - 1].x.size(0), n - 16 * (e0.size() - 1));
  DataOptions drop = toy_options();
  drop.drop_last = true;
  const DataModule dd(pool(300), drop);
  EXPECT_EQ(dd.batches(SplitKind::train, 0).size(), n / 16);
  EXPECT_EQ(dd.num_batches(SplitKind::train), n / 16);
}

TEST(DataModule, NumSamplesCapsEverySplit) {
  DataOptions o = toy_options();
  o.num_samples = 50;
  const DataModule dm(pool(1000), o);
  EXPECT_EQ(dm.train().size(), 50);
  EXPECT_EQ(dm.val().size(), 50);
  EXPECT_EQ(dm.test().size(), 50);
  o.num_samples = 100000;
  EXPECT_EQ(DataModule(pool(1000), o).train().size(), 720);
}

TEST(DataModule, FixedNormalizationAndNone) {
  DataOptions o = toy_options();
  o.mean = {1.0};
  o.stddev = {2.0};
  const DataModule fixed(pool(100), o);
  DataOptions raw_options = toy_options();
  raw_options.normalize = false;
  const DataModule raw(pool(100), raw_options);
  EXPECT_TRUE(torch::allclose(fixed.test().x, (raw.test().x - 1.0) / 2.0));
  EXPECT_TRUE(torch::allclose(fixed.normalization().apply(raw.test().x), fixed.test().x));
  EXPECT_FALSE(raw.normalization().enabled);
  o.mean = {1.0, 2.0};
  o.stddev = {1.0, 1.0};
  EXPECT_THROW(DataModule(pool(100), o), ConfigError);
}

TEST(DataModule, RejectsBadOptionsAndData) {
  DataOptions o = toy_options();
  o.val_fraction = 1.0;
  EXPECT_THROW(DataModule(pool(100), o), ConfigError);
  o = toy_options();
  o.batch_size = 0;
  EXPECT_THROW(DataModule(pool(100), o), ConfigError);
  o = toy_options();
  o.dataset = "nope";
  EXPECT_THROW(DataModule dm(o), ConfigError);
  RawData bad = pool(100);
  bad.train_y[17] = 4;
  testing::expect_data_error([&] { DataModule(bad, toy_options()); },
                             {"toy.csv", "label 4", "sample 17", "out of range"});
  RawData shape = pool(100);
  shape.info.input_shape = {4};
  testing::expect_data_error([&] { DataModule(shape, toy_options()); }, {"toy.csv", "shape"});
  testing::expect_data_error([&] { DataModule(pool(1), toy_options()); }, {"too few"});
}

TEST(Helpers, SeededPermutationIsAPermutationAndDeterministic) {
  const torch::Tensor p = seeded_permutation(1000, 42);
  EXPECT_TRUE(torch::equal(std::get<0>(p.sort()), torch::arange(1000, torch::kInt64)));
  EXPECT_TRUE(torch::equal(p, seeded_permutation(1000, 42)));
  EXPECT_FALSE(torch::equal(p, seeded_permutation(1000, 43)));
  EXPECT_FALSE(torch::equal(p, seeded_permutation(1000, 42, 1)));
  EXPECT_EQ(seeded_permutation(0, 1).numel(), 0);
}

TEST(Helpers, UniqueRowsKeepFirstOccurrence) {
  const torch::Tensor x = torch::tensor({{1.0f, 2.0f}, {1.0f, 2.0f}, {1.0f, 3.0f}, {1.0f, 2.0f}, {1.0f, 2.0f}});
  const torch::Tensor y = torch::tensor({0, 0, 0, 1, 0}, torch::kInt64);
  EXPECT_TRUE(torch::equal(unique_row_indices(x, y), torch::tensor({0, 2, 3}, torch::kInt64)));
}

class SynthTest : public testing::TempDirTest {};

TEST_F(SynthTest, MnistFormatLoadsAndIsDeterministic) {
  const auto files = write_synthetic("mnist", dir(), 120, 7);
  EXPECT_EQ(files.size(), 5u);
  DataOptions o;
  o.dataset = "mnist";
  o.data_dir = dir();
  const DataModule dm(o);
  EXPECT_EQ(dm.train().size() + dm.val().size(), 120);
  EXPECT_EQ(dm.test().size(), 20);
  EXPECT_EQ(dm.info().input_shape, (std::vector<int64_t>{1, 28, 28}));
  const auto first = testing::read_all(path("train-images-idx3-ubyte.gz"));
  write_synthetic("mnist", dir(), 120, 7);
  EXPECT_EQ(first, testing::read_all(path("train-images-idx3-ubyte.gz")));
  EXPECT_THROW(write_synthetic("imagenet", dir(), 10, 1), ConfigError);
  EXPECT_THROW(write_synthetic("mnist", dir(), 0, 1), ConfigError);
}

}  // namespace
}  // namespace chop::data
