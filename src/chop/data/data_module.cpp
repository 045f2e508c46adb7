// DataModule: train/val/test splits held as tensors, normalization and seeded batching.
#include "chop/data/data_module.h"

#include <cmath>
#include <cstring>
#include <map>
#include <mutex>

#include "chop/data/file_io.h"
#include "chop/data/registry.h"
#include "chop/support/error.h"
#include "chop/support/strings.h"

namespace chop::data {
namespace {

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Streams of seeded_permutation, so the train/test, train/val and epoch orders are unrelated.
constexpr uint64_t kTestSplitStream = 1;
constexpr uint64_t kValSplitStream = 2;
constexpr uint64_t kEpochStream = 1000;

/// Shape {1, C, 1, ...} broadcasting over dim 1 of a tensor with ndim dims.
std::vector<int64_t> channel_shape(int64_t ndim, int64_t channels) {
  std::vector<int64_t> shape(static_cast<size_t>(ndim), 1);
  shape[1] = channels;
  return shape;
}

/// All dims except 1: the dims a per-channel / per-feature statistic reduces over.
std::vector<int64_t> reduce_dims(int64_t ndim) {
  std::vector<int64_t> dims = {0};
  for (int64_t d = 2; d < ndim; ++d) dims.push_back(d);
  return dims;
}

std::vector<double> to_doubles(const torch::Tensor& t) {
  const torch::Tensor d = t.to(torch::kDouble).contiguous();
  return {d.data_ptr<double>(), d.data_ptr<double>() + d.numel()};
}

/// An uninitialized tensor; large ones are pre-faulted (see allocate_populated), which makes
/// filling them ~10x faster on VMs where page faults are expensive.
torch::Tensor populated_empty(at::IntArrayRef sizes, torch::ScalarType dtype) {
  const auto options = torch::TensorOptions().dtype(dtype);
  const auto bytes = static_cast<size_t>(c10::multiply_integers(sizes)) * c10::elementSize(dtype);
  if (bytes < kPopulateThreshold) return torch::empty(sizes, options);
  void* data = allocate_populated(bytes);
  return torch::from_blob(
      data, sizes, [bytes](void* p) { free_populated(p, bytes); }, options);
}

/// Rows index of t (index_select into a pre-faulted tensor).
torch::Tensor gather_rows(const torch::Tensor& t, const torch::Tensor& index) {
  std::vector<int64_t> sizes = t.sizes().vec();
  sizes[0] = index.size(0);
  torch::Tensor out = populated_empty(sizes, t.scalar_type());
  torch::index_select_out(out, t, 0, index);
  return out;
}

Split take(const Split& s, const torch::Tensor& index) {
  return {gather_rows(s.x, index), gather_rows(s.y, index)};
}

std::string shape_text(at::IntArrayRef shape) {
  std::vector<std::string> parts;
  for (const int64_t d : shape) parts.push_back(std::to_string(d));
  return "[" + join(parts) + "]";
}

void check_options(const DataOptions& o) {
  CHOP_CHECK(o.batch_size >= 1, ConfigError, "batch_size must be >= 1, but got {}",
             o.batch_size);
  CHOP_CHECK(o.val_fraction >= 0.0 && o.val_fraction < 1.0, ConfigError,
             "val_fraction must be in [0, 1), but got {}", o.val_fraction);
  CHOP_CHECK(o.num_samples >= 0, ConfigError, "num_samples must be >= 0 (0 = all), but got {}",
             o.num_samples);
  CHOP_CHECK(o.mean.size() == o.stddev.size(), ConfigError,
             "mean and stddev must have the same number of values, but got {} and {}",
             o.mean.size(), o.stddev.size());
  for (const double s : o.stddev) {
    CHOP_CHECK(s > 0.0, ConfigError, "every stddev value must be > 0, but got {}", s);
  }
}

/// Shapes, dtypes and label range of one part of a loaded data set.
void check_part(const RawData& raw, const torch::Tensor& x, const torch::Tensor& y,
                const char* part) {
  const std::string& src = raw.source;
  CHOP_CHECK(x.defined() && y.defined() && y.dim() == 1 && x.dim() >= 2 &&
                 x.size(0) == y.size(0),
             DataError, "{}: {} part: {} samples but {} labels", src, part,
             x.defined() ? x.size(0) : 0, y.defined() ? y.size(0) : 0);
  const auto sample_shape = x.sizes().slice(1);
  CHOP_CHECK(sample_shape.vec() == raw.info.input_shape, DataError,
             "{}: {} part: samples have shape {}, expected {}", src, part,
             shape_text(sample_shape), shape_text(raw.info.input_shape));
  if (y.numel() == 0) return;
  const torch::Tensor bad = ((y < 0) | (y >= raw.info.num_classes)).nonzero();
  if (bad.size(0) == 0) return;
  const int64_t i = bad[0][0].item<int64_t>();
  CHOP_CHECK(false, DataError, "{}: {} part: label {} of sample {} is out of range [0, {})", src,
             part, y[i].item<int64_t>(), i, raw.info.num_classes);
}

Split cap(const Split& s, int64_t n) {
  if (n <= 0 || s.size() <= n) return s;
  return take(s, torch::arange(n, torch::kInt64));
}

torch::Tensor to_float(const torch::Tensor& x) {
  if (x.scalar_type() == torch::kFloat32) return x.contiguous();
  torch::Tensor out = populated_empty(x.sizes(), torch::kFloat32);
  out.copy_(x);
  if (x.scalar_type() == torch::kUInt8) out.div_(255.0f);
  return out;
}

}  // namespace

const char* split_name(SplitKind kind) {
  switch (kind) {
    case SplitKind::train: return "train";
    case SplitKind::val: return "val";
    case SplitKind::test: return "test";
  }
  CHOP_ASSERT(false, "bad SplitKind {}", static_cast<int>(kind));
}

// --- BatchList -------------------------------------------------------------------------------

BatchList::BatchList(torch::Tensor x, torch::Tensor y, int64_t batch_size, bool drop_last)
    : x_(std::move(x)), y_(std::move(y)), batch_size_(batch_size) {
  CHOP_ASSERT(batch_size_ >= 1, "batch size {}", batch_size_);
  const int64_t n = y_.defined() ? y_.size(0) : 0;
  n_batches_ = drop_last ? n / batch_size_ : (n + batch_size_ - 1) / batch_size_;
}

int64_t BatchList::num_samples() const {
  return std::min(y_.defined() ? y_.size(0) : 0, n_batches_ * batch_size_);
}

Batch BatchList::operator[](int64_t i) const {
  CHOP_ASSERT(i >= 0 && i < n_batches_, "batch {} of {}", i, n_batches_);
  const int64_t start = i * batch_size_;
  const int64_t len = std::min(batch_size_, y_.size(0) - start);
  return {x_.narrow(0, start, len), y_.narrow(0, start, len)};
}

// --- Normalization ---------------------------------------------------------------------------

torch::Tensor Normalization::apply(const torch::Tensor& x) const {
  if (!enabled) return x;
  const auto shape = channel_shape(x.dim(), static_cast<int64_t>(mean.size()));
  const auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  const torch::Tensor m = torch::tensor(mean, opts).to(x.scalar_type()).view(shape);
  const torch::Tensor s = torch::tensor(stddev, opts).to(x.scalar_type()).view(shape);
  return (x - m) / s;
}

// --- helpers ---------------------------------------------------------------------------------

torch::Tensor seeded_permutation(int64_t n, uint64_t seed, uint64_t stream) {
  uint64_t state = seed ^ (stream * 0xd1b54a32d192ed03ULL);
  splitmix64(state);
  torch::Tensor perm = torch::arange(n, torch::kInt64);
  int64_t* p = perm.data_ptr<int64_t>();
  for (int64_t i = n - 1; i > 0; --i) {
    const auto bound = static_cast<unsigned __int128>(i + 1);
    const auto j = static_cast<int64_t>((splitmix64(state) * bound) >> 64);
    std::swap(p[i], p[j]);
  }
  return perm;
}

torch::Tensor unique_row_indices(const torch::Tensor& x, const torch::Tensor& y) {
  const int64_t n = x.size(0);
  const torch::Tensor xc = x.contiguous();
  const torch::Tensor yc = y.to(torch::kInt64).contiguous();
  const auto* xb = static_cast<const unsigned char*>(xc.data_ptr());
  const int64_t* yb = yc.data_ptr<int64_t>();
  const size_t row_bytes = n == 0 ? 0 : static_cast<size_t>(xc.nbytes() / n);
  auto row = [&](int64_t i) { return xb + static_cast<size_t>(i) * row_bytes; };
  auto hash = [&](int64_t i) {
    uint64_t h = static_cast<uint64_t>(yb[i]) * 0x9e3779b97f4a7c15ULL;
    const unsigned char* r = row(i);
    size_t b = 0;
    for (; b + 8 <= row_bytes; b += 8) {
      uint64_t word;
      std::memcpy(&word, r + b, 8);
      h = (h ^ word) * 0xff51afd7ed558ccdULL;
      h ^= h >> 32;
    }
    for (; b < row_bytes; ++b) h = (h ^ r[b]) * 0x100000001b3ULL;
    return h;
  };
  auto equal = [&](int64_t a, int64_t b) {
    return yb[a] == yb[b] && std::memcmp(row(a), row(b), row_bytes) == 0;
  };
  // Open addressing with linear probing: one flat table, no per-row allocation.
  size_t capacity = 16;
  while (capacity < 2 * static_cast<size_t>(n)) capacity *= 2;
  const size_t mask = capacity - 1;
  std::vector<int64_t, PopulatedAllocator<int64_t>> slots(capacity, -1);
  std::vector<int64_t> kept;
  kept.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    size_t s = hash(i) & mask;
    while (slots[s] >= 0 && !equal(slots[s], i)) s = (s + 1) & mask;
    if (slots[s] >= 0) continue;  // a duplicate of an earlier row
    slots[s] = i;
    kept.push_back(i);
  }
  return torch::tensor(kept, torch::kInt64);
}

// --- DataModule ------------------------------------------------------------------------------

struct DataModule::EpochCache {
  static constexpr int64_t kMaxBytes = int64_t{256} << 20;
  std::mutex mutex;
  std::map<int64_t, Split> shuffled;  ///< epoch -> shuffled training split
  int64_t bytes = 0;
};

DataModule::DataModule(const DataOptions& options)
    : options_(options), epochs_(std::make_shared<EpochCache>()) {
  check_options(options_);
  prepare(find_dataset(options_.dataset).load(options_));
}

DataModule::DataModule(RawData raw, const DataOptions& options)
    : options_(options), epochs_(std::make_shared<EpochCache>()) {
  check_options(options_);
  prepare(std::move(raw));
}

void DataModule::prepare(RawData raw) {
  info_ = raw.info;
  source_ = raw.source;
  check_part(raw, raw.train_x, raw.train_y, raw.test_x.defined() ? "training" : "data");
  if (raw.test_x.defined()) check_part(raw, raw.test_x, raw.test_y, "test");

  Split pool{raw.train_x, raw.train_y};
  if (raw.drop_duplicates) {
    const torch::Tensor keep = unique_row_indices(pool.x, pool.y);
    n_duplicates_ = pool.size() - keep.size(0);
    if (n_duplicates_ > 0) pool = take(pool, keep);
  }

  Split train;
  if (raw.test_x.defined()) {
    train = pool;
    test_ = {raw.test_x, raw.test_y};
  } else {
    // 80/20 as sklearn's train_test_split(test_size=0.2): ceil(0.2 n) test rows.
    const int64_t n = pool.size();
    const auto n_test = static_cast<int64_t>(std::ceil(0.2 * static_cast<double>(n)));
    CHOP_CHECK(n - n_test >= 1 && n_test >= 1, DataError,
               "{}: {} rows (after dropping duplicates) are too few to split 80/20", source_, n);
    const torch::Tensor perm = seeded_permutation(n, options_.split_seed, kTestSplitStream);
    test_ = take(pool, perm.narrow(0, 0, n_test));
    train = take(pool, perm.narrow(0, n_test, n - n_test));
  }

  const int64_t n_train = train.size();
  const auto n_val = static_cast<int64_t>(
      std::llround(options_.val_fraction * static_cast<double>(n_train)));
  CHOP_CHECK(n_train - n_val >= 1, DataError,
             "{}: {} training rows are too few to hold out val_fraction={}", source_, n_train,
             options_.val_fraction);
  const torch::Tensor perm = seeded_permutation(n_train, options_.split_seed, kValSplitStream);
  val_ = take(train, perm.narrow(0, 0, n_val));
  train_ = take(train, perm.narrow(0, n_val, n_train - n_val));

  train_ = cap(train_, options_.num_samples);
  val_ = cap(val_, options_.num_samples);
  test_ = cap(test_, options_.num_samples);
  for (Split* s : {&train_, &val_, &test_}) {
    s->x = to_float(s->x);
    s->y = s->y.to(torch::kInt64).contiguous();
  }

  if (!options_.normalize) return;
  const int64_t ndim = train_.x.dim();
  const int64_t channels = train_.x.size(1);
  normalization_.enabled = true;
  if (!options_.mean.empty()) {
    const auto given = static_cast<int64_t>(options_.mean.size());
    CHOP_CHECK(given == 1 || given == channels, ConfigError,
               "mean/stddev need 1 or {} values for data set '{}', but got {}", channels,
               info_.name, given);
    normalization_.mean.assign(static_cast<size_t>(channels), options_.mean[0]);
    normalization_.stddev.assign(static_cast<size_t>(channels), options_.stddev[0]);
    if (given == channels) {
      normalization_.mean = options_.mean;
      normalization_.stddev = options_.stddev;
    }
  } else {
    const auto dims = reduce_dims(ndim);
    normalization_.mean = to_doubles(train_.x.mean(dims));
    // Constant columns keep std 1 so they map to 0 instead of NaN.
    torch::Tensor sd = train_.x.std(dims, /*unbiased=*/false);
    sd = torch::where(sd > 1e-12, sd, torch::ones_like(sd));
    normalization_.stddev = to_doubles(sd);
  }
  const auto shape = channel_shape(ndim, channels);
  const auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  const torch::Tensor m = torch::tensor(normalization_.mean, opts).to(torch::kFloat32).view(shape);
  const torch::Tensor s = torch::tensor(normalization_.stddev, opts).to(torch::kFloat32).view(shape);
  for (Split* split : {&train_, &val_, &test_}) split->x.sub_(m).div_(s);
}

const Split& DataModule::split(SplitKind kind) const {
  switch (kind) {
    case SplitKind::train: return train_;
    case SplitKind::val: return val_;
    case SplitKind::test: return test_;
  }
  CHOP_ASSERT(false, "bad SplitKind {}", static_cast<int>(kind));
}

int64_t DataModule::num_batches(SplitKind kind) const {
  const int64_t n = split(kind).size();
  const int64_t bs = options_.batch_size;
  if (kind == SplitKind::train && options_.drop_last) return n / bs;
  return (n + bs - 1) / bs;
}

BatchList DataModule::batches(SplitKind kind, int64_t epoch, int64_t batch_size) const {
  const Split& s = split(kind);
  if (batch_size <= 0) batch_size = options_.batch_size;
  if (kind != SplitKind::train) return {s.x, s.y, batch_size, false};
  {
    std::lock_guard<std::mutex> lock(epochs_->mutex);
    auto it = epochs_->shuffled.find(epoch);
    if (it != epochs_->shuffled.end())
      return {it->second.x, it->second.y, batch_size, options_.drop_last};
  }
  const torch::Tensor perm = seeded_permutation(
      s.size(), options_.seed, kEpochStream + static_cast<uint64_t>(epoch));
  Split shuffled = take(s, perm);
  const int64_t bytes = static_cast<int64_t>(shuffled.x.nbytes() + shuffled.y.nbytes());
  {
    std::lock_guard<std::mutex> lock(epochs_->mutex);
    if (epochs_->bytes + bytes <= EpochCache::kMaxBytes && epochs_->shuffled.emplace(epoch, shuffled).second)
      epochs_->bytes += bytes;
  }
  return {shuffled.x, shuffled.y, batch_size, options_.drop_last};
}

std::string DataModule::summary() const {
  return fmt::format("{}: train {}, val {}, test {}; input {}; {} classes", info_.name,
                     train_.size(), val_.size(), test_.size(), shape_text(info_.input_shape),
                     info_.num_classes);
}

}  // namespace chop::data
