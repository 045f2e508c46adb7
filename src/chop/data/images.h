// Image data sets: IDX files (MNIST, Fashion-MNIST) and CIFAR-10 binary batches.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "chop/data/file_io.h"
#include "chop/data/raw_data.h"

namespace chop::data {

inline constexpr uint32_t kIdxImagesMagic = 0x00000803;  // ubyte, 3 dims
inline constexpr uint32_t kIdxLabelsMagic = 0x00000801;  // ubyte, 1 dim

/// One IDX file of unsigned bytes: dims from the header, payload in bytes[offset, end).
struct IdxArray {
  std::vector<int64_t> dims;
  ByteBuffer bytes;
  size_t offset = 0;
};

/// Reads an IDX file (gzip or plain) and checks the magic number and that the payload size
/// matches the header. Throws DataError naming path on any mismatch.
IdxArray read_idx(const std::string& path, uint32_t magic);

/// Loads `{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]` from dir (28x28, 10 classes).
/// name is the dataset name used in messages ("mnist", "fashion-mnist"); missing_hint says how
/// to obtain the files and is appended to the missing-file error.
RawData load_idx_dataset(const std::string& dir, const std::string& name,
                         const std::vector<std::string>& class_names,
                         const std::string& missing_hint);

/// Loads CIFAR-10 binary batches `data_batch_{1..5}.bin` and `test_batch.bin` from dir.
RawData load_cifar10(const std::string& dir);

/// The ten Fashion-MNIST class names, in label order.
const std::vector<std::string>& fashion_mnist_classes();
/// "0" ... "9".
const std::vector<std::string>& mnist_classes();
/// The ten CIFAR-10 class names, in label order.
const std::vector<std::string>& cifar10_classes();

}  // namespace chop::data
