// Tests of the image loaders: IDX (gzip and plain), CIFAR-10 batches, corrupt files, real data.
#include "chop/data/data_module.h"
#include "chop/data/file_io.h"
#include "chop/data/images.h"
#include "chop/data/registry.h"
#include "chop/data/synth.h"
#include "data_test_util.h"

namespace chop::data {
namespace {

using testing::expect_data_error;
using testing::read_all;
using testing::write_all;

std::vector<uint8_t> pixels(int64_t n, int salt) {
  std::vector<uint8_t> p(static_cast<size_t>(n * 784));
  for (size_t i = 0; i < p.size(); ++i) p[i] = static_cast<uint8_t>((i * 7 + salt) % 256);
  return p;
}

std::vector<uint8_t> labels(int64_t n, int salt) {
  std::vector<uint8_t> l(static_cast<size_t>(n));
  for (size_t i = 0; i < l.size(); ++i) l[i] = static_cast<uint8_t>((i + salt) % 10);
  return l;
}

class IdxTest : public testing::TempDirTest {
 protected:
  /// Writes the four MNIST files (12 train, 5 test images).
  void write_mnist(bool gzip) {
    const std::string ext = gzip ? ".gz" : "";
    write_file_bytes(path("train-images-idx3-ubyte" + ext),
                     idx_bytes(kIdxImagesMagic, {12, 28, 28}, pixels(12, 1)), gzip);
    write_file_bytes(path("train-labels-idx1-ubyte" + ext),
                     idx_bytes(kIdxLabelsMagic, {12}, labels(12, 0)), gzip);
    write_file_bytes(path("t10k-images-idx3-ubyte" + ext),
                     idx_bytes(kIdxImagesMagic, {5, 28, 28}, pixels(5, 3)), gzip);
    write_file_bytes(path("t10k-labels-idx1-ubyte" + ext),
                     idx_bytes(kIdxLabelsMagic, {5}, labels(5, 4)), gzip);
  }
  RawData load() { return load_idx_dataset(dir(), "mnist", mnist_classes(), "HINT"); }
  DataOptions options() {
    DataOptions o;
    o.dataset = "mnist";
    o.data_dir = dir();
    return o;
  }
};

void expect_raw_matches(const RawData& raw) {
  const auto train = pixels(12, 1);
  const auto test = pixels(5, 3);
  ASSERT_EQ(raw.train_x.sizes().vec(), (std::vector<int64_t>{12, 1, 28, 28}));
  ASSERT_EQ(raw.test_x.sizes().vec(), (std::vector<int64_t>{5, 1, 28, 28}));
  EXPECT_TRUE(torch::equal(raw.train_x.flatten(),
                           torch::tensor(std::vector<int64_t>(train.begin(), train.end()))
                               .to(torch::kUInt8)));
  EXPECT_TRUE(torch::equal(raw.test_x.flatten(),
                           torch::tensor(std::vector<int64_t>(test.begin(), test.end()))
                               .to(torch::kUInt8)));
  const auto tl = labels(12, 0);
  EXPECT_TRUE(torch::equal(raw.train_y, torch::tensor(std::vector<int64_t>(tl.begin(), tl.end()))));
  EXPECT_EQ(raw.train_y.scalar_type(), torch::kInt64);
}

TEST_F(IdxTest, GzipLoadsExactValues) {
  write_mnist(true);
  expect_raw_matches(load());
}

TEST_F(IdxTest, PlainLoadsExactValues) {
  write_mnist(false);
  expect_raw_matches(load());
}

TEST_F(IdxTest, ModuleScalesTestSplitToUnitRangeInFileOrder) {
  write_mnist(true);
  DataOptions o = options();
  o.normalize = false;
  const DataModule dm(o);
  const auto test = pixels(5, 3);
  const torch::Tensor expected =
      torch::tensor(std::vector<int64_t>(test.begin(), test.end())).to(torch::kFloat32) / 255.0f;
  EXPECT_TRUE(torch::equal(dm.test().x.flatten(), expected));
  EXPECT_EQ(dm.test().x.scalar_type(), torch::kFloat32);
  EXPECT_EQ(dm.train().size() + dm.val().size(), 12);
  EXPECT_EQ(dm.val().size(), 1);  // round(0.1 * 12)
  EXPECT_EQ(dm.info().input_shape, (std::vector<int64_t>{1, 28, 28}));
}

TEST_F(IdxTest, WrongMagicNamesFile) {
  write_mnist(true);
  const std::string images = path("train-images-idx3-ubyte.gz");
  write_file_bytes(images, idx_bytes(kIdxLabelsMagic, {12}, labels(12, 0)), true);
  expect_data_error([&] { load(); }, {images, "magic", "0x00000801"});
  const std::string test_labels = path("t10k-labels-idx1-ubyte.gz");
  write_mnist(true);
  write_file_bytes(test_labels, idx_bytes(0x00000802, {5}, labels(5, 0)), true);
  expect_data_error([&] { load(); }, {test_labels, "magic"});
}

TEST_F(IdxTest, TruncatedPlainFileNamesFile) {
  write_mnist(false);
  const std::string images = path("train-images-idx3-ubyte");
  auto bytes = read_all(images);
  bytes.resize(bytes.size() - 100);
  write_all(images, bytes);
  expect_data_error([&] { load(); }, {images, "truncated"});
  bytes.resize(10);  // not even a whole header
  write_all(images, bytes);
  expect_data_error([&] { load(); }, {images, "truncated"});
}

TEST_F(IdxTest, TruncatedGzipNamesFile) {
  write_mnist(true);
  const std::string images = path("train-images-idx3-ubyte.gz");
  auto bytes = read_all(images);
  bytes.resize(bytes.size() / 2);
  write_all(images, bytes);
  expect_data_error([&] { load(); }, {images, "truncated"});
}

TEST_F(IdxTest, CorruptGzipNamesFile) {
  write_mnist(true);
  const std::string images = path("train-images-idx3-ubyte.gz");
  auto bytes = read_all(images);
  for (size_t i = 20; i < bytes.size() - 8; i += 7) bytes[i] ^= 0x5a;
  write_all(images, bytes);
  expect_data_error([&] { load(); }, {images});
}

TEST_F(IdxTest, LabelOutOfRangeNamesFile) {
  write_mnist(true);
  auto bad = labels(12, 0);
  bad[7] = 10;
  const std::string file = path("train-labels-idx1-ubyte.gz");
  write_file_bytes(file, idx_bytes(kIdxLabelsMagic, {12}, bad), true);
  expect_data_error([&] { load(); }, {file, "label 10", "index 7", "out of range"});
}

TEST_F(IdxTest, CountMismatchNamesFile) {
  write_mnist(true);
  const std::string file = path("t10k-labels-idx1-ubyte.gz");
  write_file_bytes(file, idx_bytes(kIdxLabelsMagic, {4}, labels(4, 0)), true);
  expect_data_error([&] { load(); }, {file, "4 labels", "5 images"});
}

TEST_F(IdxTest, WrongImageSizeIsAnError) {
  write_mnist(true);
  const std::string file = path("train-images-idx3-ubyte.gz");
  write_file_bytes(file, idx_bytes(kIdxImagesMagic, {12, 14, 56}, pixels(12, 0)), true);
  expect_data_error([&] { load(); }, {file, "14x56", "28x28"});
}

TEST_F(IdxTest, MissingFileSaysWhereAndHow) {
  write_mnist(true);
  std::filesystem::remove(path("t10k-images-idx3-ubyte.gz"));
  expect_data_error([&] { load(); }, {path("t10k-images-idx3-ubyte.gz"), "not found", "HINT"});
  DataOptions o = options();
  o.data_dir = path("nowhere");
  expect_data_error([&] { DataModule dm(o); }, {"nowhere", "--data-dir"});
}

// --- CIFAR-10 --------------------------------------------------------------------------------

std::vector<uint8_t> cifar_batch(int64_t n, int salt) {
  std::vector<uint8_t> out;
  for (int64_t i = 0; i < n; ++i) {
    out.push_back(static_cast<uint8_t>((i + salt) % 10));
    for (int b = 0; b < 3072; ++b) out.push_back(static_cast<uint8_t>((b * 3 + i + salt) % 256));
  }
  return out;
}

class CifarTest : public testing::TempDirTest {
 protected:
  void write_cifar() {
    for (int b = 1; b <= 5; ++b) {
      write_all(path(fmt::format("data_batch_{}.bin", b)), cifar_batch(b == 5 ? 3 : 2, b));
    }
    write_all(path("test_batch.bin"), cifar_batch(4, 9));
  }
};

TEST_F(CifarTest, LoadsExactValuesInPlaneOrder) {
  write_cifar();
  const RawData raw = load_cifar10(dir());
  ASSERT_EQ(raw.train_x.sizes().vec(), (std::vector<int64_t>{11, 3, 32, 32}));
  ASSERT_EQ(raw.test_x.sizes().vec(), (std::vector<int64_t>{4, 3, 32, 32}));
  // Record 0 of batch 2 is training sample 2; byte b of its image is at plane b/1024.
  const torch::Tensor sample = raw.train_x[2];
  for (int b : {0, 1, 1023, 1024, 2047, 2048, 3071}) {
    EXPECT_EQ(sample[b / 1024][(b % 1024) / 32][b % 32].item<int>(), (b * 3 + 0 + 2) % 256);
  }
  EXPECT_EQ(raw.train_y[2].item<int64_t>(), 2);
  EXPECT_EQ(raw.test_y[3].item<int64_t>(), (3 + 9) % 10);
  EXPECT_EQ(raw.info.class_names[0], "airplane");

  DataOptions o;
  o.dataset = "cifar10";
  o.data_dir = dir();
  o.normalize = false;
  const DataModule dm(o);
  EXPECT_EQ(dm.test().size(), 4);
  EXPECT_EQ(dm.train().size() + dm.val().size(), 11);
  EXPECT_FLOAT_EQ(dm.test().x[1][2][3][4].item<float>(),
                  static_cast<float>((((2 * 1024 + 3 * 32 + 4) * 3) + 1 + 9) % 256) / 255.0f);
}

TEST_F(CifarTest, TruncatedBatchNamesFile) {
  write_cifar();
  const std::string file = path("data_batch_3.bin");
  auto bytes = read_all(file);
  bytes.resize(bytes.size() - 5);
  write_all(file, bytes);
  expect_data_error([&] { load_cifar10(dir()); }, {file, "truncated"});
}

TEST_F(CifarTest, LabelOutOfRangeNamesFile) {
  write_cifar();
  auto bytes = cifar_batch(4, 9);
  bytes[3073 * 2] = 11;
  write_all(path("test_batch.bin"), bytes);
  expect_data_error([&] { load_cifar10(dir()); },
                    {path("test_batch.bin"), "label 11", "record 2"});
}

TEST_F(CifarTest, MissingBatchesAreListed) {
  write_cifar();
  std::filesystem::remove(path("data_batch_4.bin"));
  std::filesystem::remove(path("test_batch.bin"));
  expect_data_error([&] { load_cifar10(dir()); },
                    {dir(), "data_batch_4.bin", "test_batch.bin", "cifar-10-binary"});
}

TEST_F(CifarTest, SyntheticBatchesLoad) {
  const auto files = write_synthetic("cifar10", dir(), 50, 3);
  EXPECT_EQ(files.size(), 8u);  // 6 batches, batches.meta.txt, README.synthetic.txt
  DataOptions o;
  o.dataset = "cifar10";
  o.data_dir = dir();
  const DataModule dm(o);
  EXPECT_EQ(dm.train().size() + dm.val().size(), 50);
  EXPECT_EQ(dm.test().size(), 10);
  EXPECT_TRUE(std::filesystem::exists(path("README.synthetic.txt")));
}

// --- real Fashion-MNIST ----------------------------------------------------------------------

TEST(FashionMnistReal, LoadsFromDebianPackage) {
  if (!file_exists(std::string(kFashionMnistDir) + "/train-images-idx3-ubyte.gz")) {
    GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  }
  const RawData raw = load_idx_dataset(kFashionMnistDir, "fashion-mnist",
                                       fashion_mnist_classes(), "");
  EXPECT_EQ(raw.train_x.size(0), 60000);
  EXPECT_EQ(raw.test_x.size(0), 10000);
  EXPECT_TRUE(torch::equal(torch::bincount(raw.train_y), torch::full({10}, 6000, torch::kInt64)));

  const DataModule dm(DataOptions{});  // the defaults: fashion-mnist from the Debian directory
  EXPECT_EQ(dm.train().size(), 54000);
  EXPECT_EQ(dm.val().size(), 6000);
  EXPECT_EQ(dm.test().size(), 10000);
  EXPECT_NEAR(dm.normalization().mean[0], 0.2860, 0.002);
  EXPECT_NEAR(dm.normalization().stddev[0], 0.3530, 0.002);
  EXPECT_NEAR(dm.train().x.mean().item<double>(), 0.0, 1e-3);
  EXPECT_NEAR(dm.train().x.std().item<double>(), 1.0, 1e-3);
  EXPECT_EQ(dm.info().class_names[9], "Ankle boot");
}

}  // namespace
}  // namespace chop::data
