// Synthetic data sets written in the real formats (JSC HDF5/CSV, CIFAR-10 batches, MNIST IDX).
#include "chop/data/synth.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <iterator>

#include "chop/data/file_io.h"
#include "chop/data/images.h"
#include "chop/support/error.h"
#include "chop/support/strings.h"

namespace chop::data {
namespace {

constexpr double kPi = 3.14159265358979323846;

/// A small portable generator: identical streams on every platform (unlike std distributions).
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed ^ 0x853c49e6748fea9bULL) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, 1).
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  /// Uniform integer in [0, n).
  int64_t below(int64_t n) {
    return static_cast<int64_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
  }
  /// Standard normal (Box-Muller).
  double normal() {
    const double u1 = 1.0 - uniform();
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * kPi * u2);
  }

 private:
  uint64_t state_;
};

uint8_t clip_byte(double v) { return static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L)); }

std::string lower_extension(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext;
}

void make_parent_dirs(const std::string& path) {
  make_dirs(std::filesystem::path(path).parent_path().string());
}

std::string readme(const std::string& dataset, int64_t rows, uint64_t seed) {
  return fmt::format(
      "SYNTHETIC DATA - not the real {0} data set.\n"
      "Written by `chop data synth {0} --rows {1} --seed {2}` in the real file format so the real\n"
      "loaders can read it. Accuracies measured on it say nothing about the real data set.\n",
      dataset, rows, seed);
}

void put_be32(std::vector<uint8_t>& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

}  // namespace

std::vector<uint8_t> idx_bytes(uint32_t magic, const std::vector<int64_t>& dims,
                               const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> out;
  out.reserve(4 + 4 * dims.size() + payload.size());
  put_be32(out, magic);
  for (const int64_t d : dims) put_be32(out, static_cast<uint32_t>(d));
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

std::vector<std::string> synthetic_dataset_names() {
  return {"jsc", "cifar10", "mnist", "fashion-mnist"};
}

// --- jsc -------------------------------------------------------------------------------------

JscTable make_synthetic_jsc(int64_t rows, uint64_t seed) {
  constexpr int kLatents = 4;
  const auto n_features = static_cast<int64_t>(jsc_feature_names().size());
  // The feature map is fixed (not seeded), so files written with different seeds are samples
  // of one distribution: a model trained on one can be tested on another.
  Rng fixed(0x6a73632d6d6978ULL);
  std::vector<std::array<double, kLatents>> mixing(static_cast<size_t>(n_features));
  std::vector<double> scale(static_cast<size_t>(n_features)), offset(scale.size());
  for (size_t f = 0; f < mixing.size(); ++f) {
    for (auto& a : mixing[f]) a = fixed.normal() / std::sqrt(double{kLatents});
    scale[f] = 0.2 + 3.0 * fixed.uniform();
    offset[f] = -2.0 + 6.0 * fixed.uniform();
  }

  Rng rng(seed);
  JscTable table;
  table.n_rows = rows;
  table.features.resize(static_cast<size_t>(rows * n_features));
  table.labels.resize(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    float* row = table.features.data() + r * n_features;
    if (r > 0 && rng.uniform() < 0.01) {  // real JSC has duplicate rows; MASE drops them
      const int64_t src = rng.below(r);
      std::copy_n(table.features.data() + src * n_features, n_features, row);
      table.labels[static_cast<size_t>(r)] = table.labels[static_cast<size_t>(src)];
      continue;
    }
    std::array<double, kLatents> z{};
    for (auto& v : z) v = rng.normal();
    const double radius = std::hypot(z[0], z[1]);
    int64_t label = 0;                  // g: inner disc
    if (z[2] > 1.1) label = 3;          // z: threshold on the third latent
    else if (radius > 1.9) label = 4;   // t: outer ring
    else if (radius > 0.8) label = z[0] * z[1] > 0 ? 1 : 2;  // q / w: XOR of the annulus
    if (rng.uniform() < 0.05) label = rng.below(5);
    table.labels[static_cast<size_t>(r)] = label;
    for (int64_t f = 0; f < n_features; ++f) {
      double v = 0.25 * rng.normal();
      for (int k = 0; k < kLatents; ++k) v += mixing[static_cast<size_t>(f)][k] * z[k];
      double out = offset[static_cast<size_t>(f)] + scale[static_cast<size_t>(f)] * v;
      if (f == n_features - 2) out = 40.0 * std::exp(0.35 * v);              // mass > 0
      if (f == n_features - 1) out = std::max(1.0, std::round(30.0 + 6.0 * v));  // count
      row[f] = static_cast<float>(out);
    }
  }
  return table;
}

void write_jsc_csv(const std::string& path, const JscTable& table) {
  fmt::memory_buffer buf;
  for (const auto& name : jsc_feature_names()) fmt::format_to(std::back_inserter(buf), "{},", name.substr(2));
  fmt::format_to(std::back_inserter(buf), "class\n");
  const size_t n_features = jsc_feature_names().size();
  for (size_t r = 0; r < static_cast<size_t>(table.n_rows); ++r) {
    for (size_t f = 0; f < n_features; ++f) {
      fmt::format_to(std::back_inserter(buf), "{},", table.features[r * n_features + f]);
    }
    fmt::format_to(std::back_inserter(buf), "{}\n",
                   jsc_class_names()[static_cast<size_t>(table.labels[r])]);
  }
  write_text_file(path, fmt::to_string(buf));
}

std::vector<std::string> synth_jsc(const std::string& path, int64_t rows, uint64_t seed) {
  CHOP_CHECK(rows >= 1, ConfigError, "--rows must be >= 1, but got {}", rows);
  const std::string ext = lower_extension(path);
  const bool hdf5 = ext == ".h5" || ext == ".hdf5";
  CHOP_CHECK(hdf5 || ext == ".csv", ConfigError,
             "synthetic jsc: --out must end in .h5, .hdf5 (MASE's HDF5 layout) or .csv "
             "(OpenML's CSV layout), but got '{}'",
             path);
  make_parent_dirs(path);
  const JscTable table = make_synthetic_jsc(rows, seed);
  if (hdf5) {
    write_jsc_hdf5(path, table, /*synthetic=*/true);
    return {path};
  }
  write_jsc_csv(path, table);
  const std::string sidecar = path + ".synthetic.txt";
  write_text_file(sidecar, readme("jsc", rows, seed) + "Data file: " + path + "\n");
  return {path, sidecar};
}

// --- cifar10 ---------------------------------------------------------------------------------

namespace {

struct CifarStyle {
  std::array<double, 3> colour;
  double fx, fy, phase;
};

std::vector<CifarStyle> cifar_styles() {
  Rng fixed(0x63696661722d3130ULL);
  std::vector<CifarStyle> styles(10);
  for (auto& s : styles) {
    for (auto& c : s.colour) c = 2.0 * fixed.uniform() - 1.0;
    s.fx = static_cast<double>(fixed.below(4));
    s.fy = static_cast<double>(fixed.below(4));
    s.phase = 2.0 * kPi * fixed.uniform();
  }
  return styles;
}

std::vector<uint8_t> cifar_records(int64_t n, Rng& rng, const std::vector<CifarStyle>& styles) {
  std::vector<uint8_t> out;
  out.reserve(static_cast<size_t>(n * 3073));
  for (int64_t i = 0; i < n; ++i) {
    const int64_t label = rng.below(10);
    const CifarStyle& s = styles[static_cast<size_t>(label)];
    const double brightness = 20.0 * rng.normal();
    out.push_back(static_cast<uint8_t>(label));
    for (int c = 0; c < 3; ++c) {
      for (int y = 0; y < 32; ++y) {
        for (int x = 0; x < 32; ++x) {
          const double wave = std::sin(2.0 * kPi * (s.fx * x + s.fy * y) / 32.0 + s.phase);
          out.push_back(clip_byte(128.0 + 50.0 * s.colour[static_cast<size_t>(c)] + 40.0 * wave +
                                  brightness + 35.0 * rng.normal()));
        }
      }
    }
  }
  return out;
}

}  // namespace

std::vector<std::string> synth_cifar10(const std::string& dir, int64_t rows, uint64_t seed) {
  CHOP_CHECK(rows >= 5, ConfigError,
             "synthetic cifar10: --rows must be >= 5 (one per training batch), but got {}", rows);
  make_dirs(dir);
  Rng rng(seed);
  const auto styles = cifar_styles();
  std::vector<std::string> written;
  for (int64_t b = 0; b < 5; ++b) {
    const int64_t n = rows / 5 + (b < rows % 5 ? 1 : 0);
    const std::string path = join_path(dir, fmt::format("data_batch_{}.bin", b + 1));
    write_file_bytes(path, cifar_records(n, rng, styles), false);
    written.push_back(path);
  }
  const std::string test = join_path(dir, "test_batch.bin");
  write_file_bytes(test, cifar_records(std::max<int64_t>(1, rows / 5), rng, styles), false);
  written.push_back(test);
  const std::string meta = join_path(dir, "batches.meta.txt");
  write_text_file(meta, join(cifar10_classes(), "\n") + "\n");
  written.push_back(meta);
  const std::string note = join_path(dir, "README.synthetic.txt");
  write_text_file(note, readme("cifar10", rows, seed));
  written.push_back(note);
  return written;
}

// --- mnist -----------------------------------------------------------------------------------

namespace {

using Template = std::array<float, 28 * 28>;

std::vector<Template> digit_templates() {
  Rng fixed(0x6d6e6973742d3130ULL);
  std::vector<Template> templates(10);
  for (auto& t : templates) {
    t.fill(0.0f);
    for (int blob = 0; blob < 3; ++blob) {
      const double cx = 7.0 + 14.0 * fixed.uniform();
      const double cy = 7.0 + 14.0 * fixed.uniform();
      const double sigma = 1.8 + 1.5 * fixed.uniform();
      for (int y = 0; y < 28; ++y) {
        for (int x = 0; x < 28; ++x) {
          const double d2 = (x - cx) * (x - cx) + (y - cy) * (y - cy);
          t[static_cast<size_t>(y * 28 + x)] += static_cast<float>(std::exp(-d2 / (2 * sigma * sigma)));
        }
      }
    }
  }
  return templates;
}

void mnist_part(int64_t n, Rng& rng, const std::vector<Template>& templates,
                std::vector<uint8_t>& images, std::vector<uint8_t>& labels) {
  images.reserve(static_cast<size_t>(n * 784));
  for (int64_t i = 0; i < n; ++i) {
    const int64_t label = rng.below(10);
    labels.push_back(static_cast<uint8_t>(label));
    const Template& t = templates[static_cast<size_t>(label)];
    const int dx = static_cast<int>(rng.below(5)) - 2;
    const int dy = static_cast<int>(rng.below(5)) - 2;
    const double amplitude = 180.0 + 75.0 * rng.uniform();
    for (int y = 0; y < 28; ++y) {
      for (int x = 0; x < 28; ++x) {
        const int sx = x - dx, sy = y - dy;
        const bool inside = sx >= 0 && sx < 28 && sy >= 0 && sy < 28;
        const double v = inside ? t[static_cast<size_t>(sy * 28 + sx)] : 0.0;
        images.push_back(clip_byte(amplitude * v + 25.0 * rng.normal()));
      }
    }
  }
}

}  // namespace

std::vector<std::string> synth_mnist(const std::string& dir, int64_t rows, uint64_t seed) {
  CHOP_CHECK(rows >= 1, ConfigError, "--rows must be >= 1, but got {}", rows);
  make_dirs(dir);
  Rng rng(seed);
  const auto templates = digit_templates();
  std::vector<std::string> written;
  for (const auto& [prefix, n] :
       {std::pair<std::string, int64_t>{"train", rows}, {"t10k", std::max<int64_t>(1, rows / 6)}}) {
    std::vector<uint8_t> images, labels;
    mnist_part(n, rng, templates, images, labels);
    const std::string images_path = join_path(dir, prefix + "-images-idx3-ubyte.gz");
    const std::string labels_path = join_path(dir, prefix + "-labels-idx1-ubyte.gz");
    write_file_bytes(images_path, idx_bytes(kIdxImagesMagic, {n, 28, 28}, images), true);
    write_file_bytes(labels_path, idx_bytes(kIdxLabelsMagic, {n}, labels), true);
    written.push_back(images_path);
    written.push_back(labels_path);
  }
  const std::string note = join_path(dir, "README.synthetic.txt");
  write_text_file(note, readme("mnist", rows, seed));
  written.push_back(note);
  return written;
}

std::vector<std::string> write_synthetic(const std::string& dataset, const std::string& out,
                                         int64_t rows, uint64_t seed) {
  if (dataset == "jsc") return synth_jsc(out, rows, seed);
  if (dataset == "cifar10") return synth_cifar10(out, rows, seed);
  if (dataset == "mnist" || dataset == "fashion-mnist") return synth_mnist(out, rows, seed);
  throw ConfigError(
      unknown_name_message("synthetic data set", dataset, synthetic_dataset_names()));
}

}  // namespace chop::data
