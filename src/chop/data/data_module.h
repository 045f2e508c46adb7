// DataModule: train/val/test splits held as tensors, normalization and seeded batching.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "chop/data/data_options.h"
#include "chop/data/raw_data.h"

namespace chop::data {

enum class SplitKind { train, val, test };

/// "train", "val", "test".
const char* split_name(SplitKind kind);

/// One split in memory: x float32 [N, ...input_shape], y int64 [N].
struct Split {
  torch::Tensor x, y;
  int64_t size() const { return y.defined() ? y.size(0) : 0; }
};

/// One batch: views into the split tensors (no copy).
struct Batch {
  torch::Tensor x, y;
};

/// The batches of one split for one epoch, in order. Batch i is a narrow() view, so iterating
/// allocates no sample data.
class BatchList {
 public:
  BatchList(torch::Tensor x, torch::Tensor y, int64_t batch_size, bool drop_last);
  int64_t size() const { return n_batches_; }
  int64_t num_samples() const;
  /// Batch i, 0 <= i < size().
  Batch operator[](int64_t i) const;

  class Iterator {
   public:
    Iterator(const BatchList* list, int64_t i) : list_(list), i_(i) {}
    Batch operator*() const { return (*list_)[i_]; }
    Iterator& operator++() {
      ++i_;
      return *this;
    }
    bool operator!=(const Iterator& other) const { return i_ != other.i_; }

   private:
    const BatchList* list_;
    int64_t i_;
  };
  Iterator begin() const { return {this, 0}; }
  Iterator end() const { return {this, n_batches_}; }

 private:
  torch::Tensor x_, y_;
  int64_t batch_size_;
  int64_t n_batches_;
};

/// Per-channel (images, dim 1 of [N,C,H,W]) or per-feature ([N,F]) standardization.
struct Normalization {
  bool enabled = false;
  std::vector<double> mean, stddev;  ///< one value per channel / feature
  /// (x - mean) / stddev, broadcast over dim 1; x unchanged when not enabled.
  torch::Tensor apply(const torch::Tensor& x) const;
};

/// Train/val/test splits of one data set, ready for training.
///
/// Preparation, in order: check shapes and labels; drop duplicate rows (JSC, as MASE);
/// split a single pool 80/20 into train/test with options.split_seed (not stratified; the
/// first 20% of a seeded permutation is the test part); carve options.val_fraction of the
/// training part out as validation (also with split_seed, so the held-out rows do not depend
/// on the training seed) — MASE validated on the training data, we do not; cap each split at
/// options.num_samples; scale images to [0,1]; fit normalization on the training split only
/// (or take options.mean/stddev) and apply it to all three splits.
class DataModule {
 public:
  /// Loads options.dataset through the registry and prepares it. Throws ConfigError for bad
  /// options or an unknown data set and DataError for missing or bad files.
  explicit DataModule(const DataOptions& options);

  /// Prepares already loaded data (used by tests and in-memory data).
  DataModule(RawData raw, const DataOptions& options);

  const DatasetInfo& info() const { return info_; }
  const DataOptions& options() const { return options_; }
  const Split& split(SplitKind kind) const;
  const Split& train() const { return train_; }
  const Split& val() const { return val_; }
  const Split& test() const { return test_; }
  const Normalization& normalization() const { return normalization_; }
  int64_t batch_size() const { return options_.batch_size; }
  /// Rows removed as duplicates before splitting.
  int64_t num_duplicates_dropped() const { return n_duplicates_; }
  /// Where the data came from (file or directory).
  const std::string& source() const { return source_; }

  /// Number of batches of a split per epoch.
  int64_t num_batches(SplitKind kind) const;

  /// The batches of one epoch. The training split is reshuffled for every epoch by a
  /// permutation that depends only on (options.seed, epoch), so runs are reproducible; val and
  /// test are in fixed order. drop_last applies to the training split only. Shuffled epochs are
  /// kept (up to 256 MB, shared by copies of this module and thread-safe), so the trials of a
  /// search do not gather the same epoch again: batches are read-only. batch_size 0: the
  /// options' (another size cuts the same shuffled epoch differently).
  BatchList batches(SplitKind kind, int64_t epoch = 0, int64_t batch_size = 0) const;

  /// "fashion-mnist: train 54000, val 6000, test 10000; input [1, 28, 28]; 10 classes".
  std::string summary() const;

 private:
  void prepare(RawData raw);

  DataOptions options_;
  DatasetInfo info_;
  Split train_, val_, test_;
  Normalization normalization_;
  int64_t n_duplicates_ = 0;
  std::string source_;
  struct EpochCache;
  std::shared_ptr<EpochCache> epochs_;
};

/// A permutation of 0..n-1 from a portable generator (same on every platform and LibTorch
/// version) seeded by seed and stream.
torch::Tensor seeded_permutation(int64_t n, uint64_t seed, uint64_t stream = 0);

/// Indices (int64) of the first occurrence of every distinct (row of x, y) pair, in order.
torch::Tensor unique_row_indices(const torch::Tensor& x, const torch::Tensor& y);

}  // namespace chop::data
