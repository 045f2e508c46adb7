// Synthetic data sets written in the real formats (JSC HDF5/CSV, CIFAR-10 batches, MNIST IDX).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "chop/data/jsc_table.h"

namespace chop::data {

/// Data set names write_synthetic accepts: jsc, cifar10, mnist, fashion-mnist.
std::vector<std::string> synthetic_dataset_names();

/// Writes a synthetic stand-in for dataset at out and returns the paths written.
/// jsc: out is a file; `.h5`/`.hdf5` writes MASE's HDF5 layout (attribute synthetic=1),
///   `.csv` writes OpenML's CSV layout plus a sidecar `<out>.synthetic.txt`; rows rows.
/// cifar10: out is a directory; data_batch_1..5.bin share rows records, test_batch.bin has
///   max(1, rows/5); plus batches.meta.txt and README.synthetic.txt.
/// mnist / fashion-mnist: out is a directory; gzipped IDX train files with rows images, t10k
///   files with max(1, rows/6); plus README.synthetic.txt.
/// Same (dataset, rows, seed) give byte-identical files. Throws ConfigError for an unknown
/// dataset, rows < 1 (< 5 for cifar10) or a bad jsc extension; DataError when writing fails.
std::vector<std::string> write_synthetic(const std::string& dataset, const std::string& out,
                                         int64_t rows, uint64_t seed);

/// Synthetic JSC rows: 4 latent variables (3 carry the class, 1 is a nuisance) mixed into the
/// 16 features by a fixed matrix with noise, some features passed through monotone
/// nonlinearities (positive "mass", integer "multiplicity"). Classes depend nonlinearly on the
/// latents (a disc, a ring and an XOR in two of them; a threshold in the third), 5% of labels
/// are random and ~1% of rows repeat an earlier row, so a small MLP learns it (~80% test
/// accuracy) and a linear model does clearly worse (~40%).
JscTable make_synthetic_jsc(int64_t rows, uint64_t seed);

/// Writes make_synthetic_jsc(rows, seed) to path (format by extension, see write_synthetic).
std::vector<std::string> synth_jsc(const std::string& path, int64_t rows, uint64_t seed);

/// Writes synthetic CIFAR-10 binary batches into dir (see write_synthetic).
std::vector<std::string> synth_cifar10(const std::string& dir, int64_t rows, uint64_t seed);

/// Writes synthetic MNIST-format IDX files into dir (see write_synthetic).
std::vector<std::string> synth_mnist(const std::string& dir, int64_t rows, uint64_t seed);

/// Writes table as OpenML's hls4ml_lhc_jets_hlf CSV: features without `j_`, string `class`.
void write_jsc_csv(const std::string& path, const JscTable& table);

/// An IDX ubyte file image: magic, big-endian dims, payload (for tests and the synthesizer).
std::vector<uint8_t> idx_bytes(uint32_t magic, const std::vector<int64_t>& dims,
                               const std::vector<uint8_t>& payload);

}  // namespace chop::data
