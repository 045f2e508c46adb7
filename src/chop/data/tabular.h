// Tabular data sets: the CSV reader, JSC (HDF5 or OpenML CSV) and users' own CSV files.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "chop/data/raw_data.h"

namespace chop::data {

/// A parsed CSV file: numeric columns as floats, the requested text columns as strings.
struct CsvTable {
  std::vector<std::string> header;
  int64_t n_rows = 0;
  std::vector<std::vector<float>> numeric;    ///< per column; empty for text columns
  std::vector<std::vector<std::string>> text; ///< per column; filled for text columns only
  std::vector<int64_t> lines;                 ///< 1-based file line of each row, for messages
  /// Index of column name, or -1.
  int64_t column(const std::string& name) const;
};

/// Reads a comma-separated file (optionally gzipped) with a header line. Columns named in
/// text_columns are kept as strings; every other value must be a finite number. Double quotes
/// around fields are removed; blank lines are skipped. Throws DataError naming path and line for
/// a missing file, an empty file, a ragged row or a value that is not a number.
CsvTable read_csv(const std::string& path, const std::vector<std::string>& text_columns);

/// Loads JSC from path: MASE's HDF5 file (detected by signature) or OpenML's
/// hls4ml_lhc_jets_hlf CSV. The result is one pool (split 80/20 later) with duplicates dropped.
RawData load_jsc(const std::string& path);

/// Loads a user CSV: every column except label_column is a float feature; labels are
/// integers 0..K-1 (class names "0".."K-1") or strings (classes sorted by name).
/// The result is one pool (split 80/20 later).
RawData load_csv_dataset(const std::string& path, const std::string& label_column);

/// Input shape and classes of a user CSV, reading the file but not building tensors.
DatasetInfo csv_dataset_info(const std::string& path, const std::string& label_column);

}  // namespace chop::data
