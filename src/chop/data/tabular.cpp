// Tabular data sets: the CSV reader, JSC (HDF5 or OpenML CSV) and users' own CSV files.
#include "chop/data/tabular.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <memory>
#include <set>
#include <string_view>

#include "chop/data/file_io.h"
#include "chop/data/jsc_table.h"
#include "chop/support/error.h"
#include "chop/support/strings.h"

namespace chop::data {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

/// Removes one pair of surrounding double or single quotes.
std::string_view unquote(std::string_view s) {
  s = trim(s);
  if (s.size() >= 2 && (s.front() == '"' || s.front() == '\'') && s.back() == s.front()) {
    return s.substr(1, s.size() - 2);
  }
  return s;
}

/// Splits one line at commas outside double quotes.
void split_fields(std::string_view line, std::vector<std::string_view>& fields) {
  fields.clear();
  size_t start = 0;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (c == '"') quoted = !quoted;
    if (c == ',' && !quoted) {
      fields.push_back(unquote(line.substr(start, i - start)));
      start = i + 1;
    }
  }
  fields.push_back(unquote(line.substr(start)));
}

bool parse_float(std::string_view s, float& value) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  return ec == std::errc() && end == s.data() + s.size() && std::isfinite(value);
}

bool parse_int(std::string_view s, int64_t& value) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  return !s.empty() && ec == std::errc() && end == s.data() + s.size();
}

/// A float32 [rows, cols] tensor that owns values (no copy).
torch::Tensor adopt_floats(std::vector<float> values, int64_t rows, int64_t cols) {
  auto* owner = new std::vector<float>(std::move(values));
  return torch::from_blob(
      owner->data(), {rows, cols}, [owner](void*) { delete owner; },
      torch::TensorOptions().dtype(torch::kFloat32));
}

torch::Tensor labels_tensor(const std::vector<int64_t>& labels) {
  return torch::tensor(labels, torch::TensorOptions().dtype(torch::kInt64));
}

struct EncodedLabels {
  std::vector<std::string> class_names;
  std::vector<int64_t> labels;
};

/// Integer labels 0..K-1 when every value is a non-negative integer, else sorted string classes.
EncodedLabels encode_labels(const std::string& path, const std::string& column,
                            const std::vector<std::string>& values,
                            const std::vector<int64_t>& lines) {
  EncodedLabels out;
  out.labels.resize(values.size());
  bool all_int = true;
  for (size_t i = 0; i < values.size() && all_int; ++i) {
    all_int = parse_int(values[i], out.labels[i]);
  }
  if (all_int) {
    int64_t max_label = -1;
    for (size_t i = 0; i < values.size(); ++i) {
      CHOP_CHECK(out.labels[i] >= 0, DataError,
                 "{}:{}: label {} in column '{}' is negative; integer labels must be 0..K-1",
                 path, lines[i], out.labels[i], column);
      max_label = std::max(max_label, out.labels[i]);
    }
    CHOP_CHECK(max_label < 100000, DataError,
               "{}: integer label {} in column '{}' is implausibly large for a class index",
               path, max_label, column);
    for (int64_t k = 0; k <= max_label; ++k) out.class_names.push_back(std::to_string(k));
    return out;
  }
  std::map<std::string, int64_t> index;
  for (const auto& v : values) index.emplace(v, 0);
  for (auto& [name, k] : index) {
    k = static_cast<int64_t>(out.class_names.size());
    out.class_names.push_back(name);
  }
  for (size_t i = 0; i < values.size(); ++i) out.labels[i] = index.at(values[i]);
  return out;
}

const char* kJscHowToGet =
    "put MASE's HDF5 file (processed-pythia82-lhc13-all-pt1-50k-r1_h022_e0175_t220_nonu_truth.z)"
    " or OpenML's hls4ml_lhc_jets_hlf CSV (data set 42468, https://www.openml.org/d/42468) "
    "there, or pass --data-path FILE; without the real data, `chop data synth jsc --out "
    "jsc.h5` writes a synthetic stand-in in the same format";

/// OpenML's CSV: feature columns without the `j_` prefix (with it is accepted too) and a
/// string `class` column in {g,q,t,w,z}. The hls4ml tutorial label-encodes those
/// alphabetically (g,q,t,w,z); we map by name to MASE's order instead, so both formats give
/// g=0, q=1, w=2, z=3, t=4. MASE-style one-hot columns j_g..j_t are accepted when `class` is
/// absent.
JscTable read_jsc_csv(const std::string& path) {
  const CsvTable csv = read_csv(path, {"class"});
  JscTable table;
  table.n_rows = csv.n_rows;
  const auto& names = jsc_feature_names();
  const auto n_features = names.size();
  std::vector<int64_t> feature_columns;
  std::vector<std::string> missing;
  for (const auto& name : names) {
    int64_t c = csv.column(name);
    if (c < 0) c = csv.column(name.substr(2));
    if (c < 0) missing.push_back(name.substr(2));
    feature_columns.push_back(c);
  }
  const int64_t class_column = csv.column("class");
  std::vector<int64_t> one_hot_columns;
  for (const auto& field : jsc_label_fields()) one_hot_columns.push_back(csv.column(field));
  const bool has_one_hot = std::none_of(one_hot_columns.begin(), one_hot_columns.end(),
                                        [](int64_t c) { return c < 0; });
  if (class_column < 0 && !has_one_hot) missing.push_back("class");
  CHOP_CHECK(missing.empty(), DataError,
             "{}: missing column(s) {}; a JSC CSV needs the 16 features (with or without the "
             "j_ prefix) and a 'class' column with values g, q, w, z, t",
             path, join(missing));

  table.features.resize(static_cast<size_t>(csv.n_rows) * n_features);
  for (size_t f = 0; f < n_features; ++f) {
    const auto& column = csv.numeric[static_cast<size_t>(feature_columns[f])];
    CHOP_CHECK(!column.empty() || csv.n_rows == 0, DataError, "{}: column '{}' is not numeric",
               path, names[f]);
    for (size_t r = 0; r < static_cast<size_t>(csv.n_rows); ++r) {
      table.features[r * n_features + f] = column[r];
    }
  }
  table.labels.resize(static_cast<size_t>(csv.n_rows));
  const auto& classes = jsc_class_names();
  if (class_column >= 0) {
    const auto& values = csv.text[static_cast<size_t>(class_column)];
    for (size_t r = 0; r < values.size(); ++r) {
      const auto it = std::find(classes.begin(), classes.end(), values[r]);
      CHOP_CHECK(it != classes.end(), DataError,
                 "{}:{}: class '{}' is not one of g, q, w, z, t", path, csv.lines[r], values[r]);
      table.labels[r] = it - classes.begin();
    }
    return table;
  }
  for (size_t r = 0; r < static_cast<size_t>(csv.n_rows); ++r) {
    int hot = 0;
    for (size_t k = 0; k < one_hot_columns.size(); ++k) {
      const float v = csv.numeric[static_cast<size_t>(one_hot_columns[k])][r];
      if (v == 1.0f) {
        ++hot;
        table.labels[r] = static_cast<int64_t>(k);
      }
    }
    CHOP_CHECK(hot == 1, DataError,
               "{}:{}: {} of the one-hot columns j_g,j_q,j_w,j_z,j_t are 1, expected one", path,
               csv.lines[r], hot);
  }
  return table;
}

/// path itself when it may be a CSV; a file that is not HDF5 must be named *.csv[.gz] or *.txt.
const std::string& checked_csv(const std::string& path) {
  std::string lower = path;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const bool csv_name = ends_with(lower, ".csv") || ends_with(lower, ".csv.gz") ||
                        ends_with(lower, ".txt");
  CHOP_CHECK(csv_name, DataError,
             "{}: not an HDF5 file (no HDF5 signature: corrupt, truncated or another format) and "
             "not named *.csv; JSC reads MASE's HDF5 file or OpenML's CSV",
             path);
  return path;
}

DatasetInfo jsc_info() {
  DatasetInfo info;
  info.name = "jsc";
  info.input_shape = {static_cast<int64_t>(jsc_feature_names().size())};
  info.num_classes = static_cast<int64_t>(jsc_class_names().size());
  info.class_names = jsc_class_names();
  info.feature_names = jsc_feature_names();
  return info;
}

}  // namespace

int64_t CsvTable::column(const std::string& name) const {
  const auto it = std::find(header.begin(), header.end(), name);
  return it == header.end() ? -1 : it - header.begin();
}

CsvTable read_csv(const std::string& path, const std::vector<std::string>& text_columns) {
  const ByteBuffer bytes = read_file_bytes(path);
  std::string_view rest(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  if (rest.substr(0, 3) == "\xEF\xBB\xBF") rest.remove_prefix(3);  // UTF-8 byte order mark

  CsvTable table;
  std::vector<std::string_view> fields;
  std::vector<char> is_text;
  int64_t line_no = 0;
  while (!rest.empty()) {
    const size_t eol = rest.find('\n');
    const std::string_view line = trim(rest.substr(0, eol));
    rest.remove_prefix(eol == std::string_view::npos ? rest.size() : eol + 1);
    ++line_no;
    if (line.empty()) continue;
    split_fields(line, fields);
    if (table.header.empty()) {
      std::set<std::string_view> seen;
      for (const auto& f : fields) {
        // Columns are found by name: a repeated one would be read as text and as a feature.
        CHOP_CHECK(seen.insert(f).second, DataError, "{}:{}: column '{}' appears twice in the header",
                   path, line_no, f);
        table.header.emplace_back(f);
      }
      for (const auto& name : table.header) {
        is_text.push_back(std::find(text_columns.begin(), text_columns.end(), name) !=
                          text_columns.end());
      }
      table.numeric.resize(fields.size());
      table.text.resize(fields.size());
      continue;
    }
    CHOP_CHECK(fields.size() == table.header.size(), DataError,
               "{}:{}: {} fields but the header has {} columns (truncated or ragged row)", path,
               line_no, fields.size(), table.header.size());
    for (size_t c = 0; c < fields.size(); ++c) {
      if (is_text[c]) {
        table.text[c].emplace_back(fields[c]);
        continue;
      }
      float value = 0;
      CHOP_CHECK(parse_float(fields[c], value), DataError,
                 "{}:{}: column '{}': '{}' is not a finite number", path, line_no,
                 table.header[c], fields[c]);
      table.numeric[c].push_back(value);
    }
    table.lines.push_back(line_no);
    ++table.n_rows;
  }
  CHOP_CHECK(!table.header.empty(), DataError, "{}: empty CSV file (no header line)", path);
  return table;
}

RawData load_jsc(const std::string& path) {
  CHOP_CHECK(file_exists(path), DataError, "{}: JSC data file not found; {}", path,
             kJscHowToGet);
  JscTable table = is_hdf5_file(path) ? read_jsc_hdf5(path) : read_jsc_csv(checked_csv(path));
  CHOP_CHECK(table.n_rows > 0, DataError, "{}: no rows", path);
  RawData raw;
  raw.info = jsc_info();
  const auto n_features = static_cast<int64_t>(jsc_feature_names().size());
  raw.train_x = adopt_floats(std::move(table.features), table.n_rows, n_features);
  raw.train_y = labels_tensor(table.labels);
  raw.drop_duplicates = true;  // as MASE does
  raw.source = path;
  return raw;
}

namespace {

struct CsvDataset {
  DatasetInfo info;
  CsvTable table;
  EncodedLabels labels;
  std::vector<size_t> feature_columns;
};

CsvDataset read_csv_dataset(const std::string& path, const std::string& label_column) {
  CHOP_CHECK(file_exists(path), DataError,
             "{}: CSV file not found; pass --data-path FILE (a CSV with a header, numeric "
             "feature columns and a '{}' column)",
             path, label_column);
  CsvDataset d;
  d.table = read_csv(path, {label_column});
  const int64_t label = d.table.column(label_column);
  CHOP_CHECK(label >= 0, DataError,
             "{}: missing label column '{}' (columns: {}); set the label column name with "
             "label_column",
             path, label_column, join(d.table.header));
  CHOP_CHECK(d.table.n_rows > 0, DataError, "{}: no data rows", path);
  CHOP_CHECK(d.table.header.size() >= 2, DataError, "{}: no feature columns besides '{}'", path,
             label_column);
  d.labels = encode_labels(path, label_column, d.table.text[static_cast<size_t>(label)],
                           d.table.lines);
  d.info.name = "csv";
  for (size_t c = 0; c < d.table.header.size(); ++c) {
    if (static_cast<int64_t>(c) == label) continue;
    d.feature_columns.push_back(c);
    d.info.feature_names.push_back(d.table.header[c]);
  }
  d.info.input_shape = {static_cast<int64_t>(d.feature_columns.size())};
  d.info.num_classes = static_cast<int64_t>(d.labels.class_names.size());
  d.info.class_names = d.labels.class_names;
  return d;
}

}  // namespace

DatasetInfo csv_dataset_info(const std::string& path, const std::string& label_column) {
  return read_csv_dataset(path, label_column).info;
}

RawData load_csv_dataset(const std::string& path, const std::string& label_column) {
  const CsvDataset d = read_csv_dataset(path, label_column);
  const size_t n_rows = static_cast<size_t>(d.table.n_rows);
  const size_t n_features = d.feature_columns.size();
  std::vector<float> features(n_rows * n_features);
  for (size_t f = 0; f < n_features; ++f) {
    const auto& column = d.table.numeric[d.feature_columns[f]];
    for (size_t r = 0; r < n_rows; ++r) features[r * n_features + f] = column[r];
  }
  RawData raw;
  raw.info = d.info;
  raw.train_x = adopt_floats(std::move(features), d.table.n_rows,
                             static_cast<int64_t>(n_features));
  raw.train_y = labels_tensor(d.labels.labels);
  raw.source = path;
  return raw;
}

}  // namespace chop::data
