// Image data sets: IDX files (MNIST, Fashion-MNIST) and CIFAR-10 binary batches.
#include "chop/data/images.h"

#include <fstream>
#include <memory>

#include "chop/data/file_io.h"
#include "chop/support/error.h"
#include "chop/support/strings.h"

namespace chop::data {
namespace {

uint32_t read_be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}

/// A uint8 tensor over bytes[offset, offset + numel) that owns the vector (no copy).
torch::Tensor adopt_bytes(ByteBuffer bytes, size_t offset, at::IntArrayRef sizes) {
  auto* owner = new ByteBuffer(std::move(bytes));
  return torch::from_blob(
      owner->data() + offset, sizes, [owner](void*) { delete owner; },
      torch::TensorOptions().dtype(torch::kUInt8));
}

/// The first of name.gz and name that exists in dir; empty when neither does.
std::string find_idx_file(const std::string& dir, const std::string& name) {
  for (const auto& candidate : {join_path(dir, name + ".gz"), join_path(dir, name)}) {
    if (file_exists(candidate)) return candidate;
  }
  return "";
}

/// Index of the first label >= num_classes, or -1.
int64_t first_bad_label(const uint8_t* labels, int64_t n, int64_t num_classes) {
  for (int64_t i = 0; i < n; ++i) {
    if (labels[i] >= num_classes) return i;
  }
  return -1;
}

struct IdxPart {
  torch::Tensor x, y;
};

IdxPart load_idx_part(const std::string& dir, const std::string& prefix, const std::string& name,
                      int64_t num_classes, const std::string& missing_hint) {
  const std::string images_name = prefix + "-images-idx3-ubyte";
  const std::string labels_name = prefix + "-labels-idx1-ubyte";
  const std::string images_path = find_idx_file(dir, images_name);
  const std::string labels_path = find_idx_file(dir, labels_name);
  for (const auto& [found, wanted] : {std::pair{images_path, images_name},
                                      std::pair{labels_path, labels_name}}) {
    CHOP_CHECK(!found.empty(), DataError, "{}: file not found ({} data set{}); {}",
               join_path(dir, wanted + ".gz"), name,
               dir_exists(dir) ? "" : ", directory does not exist", missing_hint);
  }
  IdxArray images = read_idx(images_path, kIdxImagesMagic);
  IdxArray labels = read_idx(labels_path, kIdxLabelsMagic);
  const int64_t n = images.dims[0];
  CHOP_CHECK(images.dims[1] == 28 && images.dims[2] == 28, DataError,
             "{}: images are {}x{}, expected 28x28", images_path, images.dims[1], images.dims[2]);
  CHOP_CHECK(labels.dims[0] == n, DataError,
             "{}: {} labels but {} has {} images; the counts must match", labels_path,
             labels.dims[0], images_path, n);
  const int64_t bad = first_bad_label(labels.bytes.data() + labels.offset, n, num_classes);
  CHOP_CHECK(bad < 0, DataError, "{}: label {} at index {} is out of range [0, {})",
             labels_path, int{labels.bytes[labels.offset + bad]}, bad, num_classes);
  IdxPart part;
  part.x = adopt_bytes(std::move(images.bytes), images.offset, {n, 1, 28, 28});
  part.y = adopt_bytes(std::move(labels.bytes), labels.offset, {n}).to(torch::kInt64);
  return part;
}

constexpr int64_t kCifarRecord = 1 + 3 * 32 * 32;

/// Reads one CIFAR batch file as a [N, 3073] uint8 tensor after checking size and labels.
torch::Tensor read_cifar_batch(const std::string& path) {
  ByteBuffer bytes = read_file_bytes(path);
  const auto size = static_cast<int64_t>(bytes.size());
  CHOP_CHECK(size > 0, DataError, "{}: empty file", path);
  CHOP_CHECK(size % kCifarRecord == 0, DataError,
             "{}: truncated or corrupt: {} bytes is not a whole number of {}-byte records",
             path, size, kCifarRecord);
  const int64_t n = size / kCifarRecord;
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t label = bytes[static_cast<size_t>(i * kCifarRecord)];
    CHOP_CHECK(label < 10, DataError, "{}: label {} in record {} is out of range [0, 10)", path,
               int{label}, i);
  }
  return adopt_bytes(std::move(bytes), 0, {n, kCifarRecord});
}

std::vector<std::string> read_cifar_class_names(const std::string& dir) {
  std::ifstream in(join_path(dir, "batches.meta.txt"));
  std::vector<std::string> names;
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) names.push_back(line);
  }
  if (names.size() != 10) return cifar10_classes();
  return names;
}

}  // namespace

IdxArray read_idx(const std::string& path, uint32_t magic) {
  IdxArray array;
  array.bytes = read_file_bytes(path);
  const auto& b = array.bytes;
  CHOP_CHECK(b.size() >= 4, DataError, "{}: truncated IDX file ({} bytes, no header)", path,
             b.size());
  const uint32_t seen = read_be32(b.data());
  CHOP_CHECK(seen == magic, DataError,
             "{}: wrong IDX magic number 0x{:08x}, expected 0x{:08x} ({}); not an IDX {} file",
             path, seen, magic, magic == kIdxImagesMagic ? "ubyte images" : "ubyte labels",
             magic == kIdxImagesMagic ? "images" : "labels");
  const size_t ndims = magic & 0xff;
  array.offset = 4 + 4 * ndims;
  CHOP_CHECK(b.size() >= array.offset, DataError, "{}: truncated IDX header ({} bytes)", path,
             b.size());
  uint64_t expected = 1;
  for (size_t d = 0; d < ndims; ++d) {
    const uint32_t dim = read_be32(b.data() + 4 + 4 * d);
    array.dims.push_back(dim);
    // Saturate instead of overflowing: a corrupt header must read as "truncated".
    expected = (dim != 0 && expected > UINT64_MAX / dim) ? UINT64_MAX : expected * dim;
  }
  const uint64_t payload = b.size() - array.offset;
  CHOP_CHECK(payload >= expected, DataError,
             "{}: truncated: header declares {} items ({} bytes) but only {} bytes follow", path,
             array.dims[0], expected, payload);
  CHOP_CHECK(payload == expected, DataError,
             "{}: corrupt: {} bytes follow the {} items the header declares", path,
             payload - expected, array.dims[0]);
  return array;
}

RawData load_idx_dataset(const std::string& dir, const std::string& name,
                         const std::vector<std::string>& class_names,
                         const std::string& missing_hint) {
  const auto num_classes = static_cast<int64_t>(class_names.size());
  IdxPart train = load_idx_part(dir, "train", name, num_classes, missing_hint);
  IdxPart test = load_idx_part(dir, "t10k", name, num_classes, missing_hint);
  RawData raw;
  raw.info.name = name;
  raw.info.input_shape = {1, 28, 28};
  raw.info.num_classes = num_classes;
  raw.info.class_names = class_names;
  raw.train_x = train.x;
  raw.train_y = train.y;
  raw.test_x = test.x;
  raw.test_y = test.y;
  raw.source = dir;
  return raw;
}

RawData load_cifar10(const std::string& dir) {
  std::vector<std::string> train_files;
  for (int i = 1; i <= 5; ++i) train_files.push_back(fmt::format("data_batch_{}.bin", i));
  std::vector<std::string> missing;
  for (const auto& file : train_files) {
    if (!file_exists(join_path(dir, file))) missing.push_back(file);
  }
  if (!file_exists(join_path(dir, "test_batch.bin"))) missing.push_back("test_batch.bin");
  CHOP_CHECK(missing.empty(), DataError,
             "{}: cifar10 files missing: {}; download the binary version "
             "(cifar-10-binary.tar.gz) from https://www.cs.toronto.edu/~kriz/cifar.html, extract "
             "it and pass --data-dir <dir>/cifar-10-batches-bin (or write a synthetic stand-in "
             "with `chop data synth cifar10 --out DIR`)",
             dir, join(missing));
  std::vector<torch::Tensor> batches;
  for (const auto& file : train_files) batches.push_back(read_cifar_batch(join_path(dir, file)));
  const torch::Tensor train = torch::cat(batches);
  const torch::Tensor test = read_cifar_batch(join_path(dir, "test_batch.bin"));
  auto images = [](const torch::Tensor& records) {
    return records.narrow(1, 1, kCifarRecord - 1).reshape({records.size(0), 3, 32, 32});
  };
  auto labels = [](const torch::Tensor& records) { return records.select(1, 0).to(torch::kInt64); };
  RawData raw;
  raw.info.name = "cifar10";
  raw.info.input_shape = {3, 32, 32};
  raw.info.num_classes = 10;
  raw.info.class_names = read_cifar_class_names(dir);
  raw.train_x = images(train);
  raw.train_y = labels(train);
  raw.test_x = images(test).contiguous();
  raw.test_y = labels(test);
  raw.source = dir;
  return raw;
}

const std::vector<std::string>& fashion_mnist_classes() {
  static const std::vector<std::string> names = {"T-shirt/top", "Trouser", "Pullover", "Dress",
                                                 "Coat",        "Sandal",  "Shirt",    "Sneaker",
                                                 "Bag",         "Ankle boot"};
  return names;
}

const std::vector<std::string>& mnist_classes() {
  static const std::vector<std::string> names = {"0", "1", "2", "3", "4",
                                                 "5", "6", "7", "8", "9"};
  return names;
}

const std::vector<std::string>& cifar10_classes() {
  static const std::vector<std::string> names = {"airplane", "automobile", "bird",  "cat",
                                                 "deer",     "dog",        "frog",  "horse",
                                                 "ship",     "truck"};
  return names;
}

}  // namespace chop::data
