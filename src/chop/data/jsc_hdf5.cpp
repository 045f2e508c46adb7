// The JSC HDF5 reader and writer (MASE's `t_allpar_new` compound layout), on the HDF5 C API.
#include <hdf5.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <utility>

#include "chop/data/file_io.h"
#include "chop/data/jsc_table.h"
#include "chop/support/crash_guard.h"
#include "chop/support/error.h"
#include "chop/support/strings.h"

namespace chop::data {
namespace {

constexpr const char* kDatasetName = "t_allpar_new";

/// Owns one HDF5 handle and closes it with the matching H5*close.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& other) noexcept : id_(std::exchange(other.id_, -1)), closer_(other.closer_) {}
  Handle& operator=(Handle&&) = delete;
  ~Handle() {
    if (id_ >= 0) closer_(id_);
  }
  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }

 private:
  hid_t id_;
  Closer closer_;
};

/// HDF5 prints its error stack to stderr by default; we report through DataError instead.
void silence_hdf5() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

/// All JSC field names: 16 features then 5 labels.
std::vector<std::string> all_fields() {
  std::vector<std::string> fields = jsc_feature_names();
  const auto& labels = jsc_label_fields();
  fields.insert(fields.end(), labels.begin(), labels.end());
  return fields;
}

/// A packed compound of float fields named `fields`, using member type `member`.
Handle float_compound(const std::vector<std::string>& fields, hid_t member) {
  Handle type(H5Tcreate(H5T_COMPOUND, fields.size() * sizeof(float)), H5Tclose);
  CHOP_ASSERT(type.ok(), "H5Tcreate failed");
  for (size_t i = 0; i < fields.size(); ++i) {
    CHOP_ASSERT(H5Tinsert(type.get(), fields[i].c_str(), i * sizeof(float), member) >= 0,
                "H5Tinsert {}", fields[i]);
  }
  return type;
}

void write_int_attribute(hid_t object, const char* name, int value, const std::string& path) {
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  Handle attr(H5Acreate2(object, name, H5T_STD_I32LE, space.get(), H5P_DEFAULT, H5P_DEFAULT),
              H5Aclose);
  CHOP_CHECK(attr.ok() && H5Awrite(attr.get(), H5T_NATIVE_INT, &value) >= 0, DataError,
             "{}: cannot write HDF5 attribute {}", path, name);
}

void write_string_attribute(hid_t object, const char* name, const std::string& value,
                            const std::string& path) {
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), value.size() + 1);
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  Handle attr(H5Acreate2(object, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
              H5Aclose);
  CHOP_CHECK(attr.ok() && H5Awrite(attr.get(), type.get(), value.c_str()) >= 0, DataError,
             "{}: cannot write HDF5 attribute {}", path, name);
}

bool is_numeric_class(H5T_class_t c) { return c == H5T_FLOAT || c == H5T_INTEGER; }

}  // namespace

const std::vector<std::string>& jsc_feature_names() {
  static const std::vector<std::string> names = {
      "j_zlogz",          "j_c1_b0_mmdt",     "j_c1_b1_mmdt", "j_c1_b2_mmdt",
      "j_c2_b1_mmdt",     "j_c2_b2_mmdt",     "j_d2_b1_mmdt", "j_d2_b2_mmdt",
      "j_d2_a1_b1_mmdt",  "j_d2_a1_b2_mmdt",  "j_m2_b1_mmdt", "j_m2_b2_mmdt",
      "j_n2_b1_mmdt",     "j_n2_b2_mmdt",     "j_mass_mmdt",  "j_multiplicity"};
  return names;
}

const std::vector<std::string>& jsc_label_fields() {
  static const std::vector<std::string> names = {"j_g", "j_q", "j_w", "j_z", "j_t"};
  return names;
}

const std::vector<std::string>& jsc_class_names() {
  static const std::vector<std::string> names = {"g", "q", "w", "z", "t"};
  return names;
}

bool is_hdf5_file(const std::string& path) {
  silence_hdf5();
  return file_exists(path) && H5Fis_hdf5(path.c_str()) > 0;
}

JscTable read_jsc_hdf5(const std::string& path) {
  silence_hdf5();
  CHOP_CHECK(file_exists(path), DataError, "{}: file not found", path);
  // Debian 12's HDF5 1.10.8 divides by zero in H5T_copy on some corrupt datatype messages
  // (tests/fuzz/known/jsc_hdf5-hdf5-sigfpe-H5T_copy.h5) instead of failing the open.
  CrashGuard guard(fmt::format("cannot read data file '{}'", path));
  Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  CHOP_CHECK(file.ok(), DataError, "{}: not a readable HDF5 file (corrupt or truncated?)", path);
  CHOP_CHECK(H5Lexists(file.get(), kDatasetName, H5P_DEFAULT) > 0, DataError,
             "{}: HDF5 dataset '{}' not found (MASE's JSC layout expected)", path, kDatasetName);
  Handle dset(H5Dopen2(file.get(), kDatasetName, H5P_DEFAULT), H5Dclose);
  CHOP_CHECK(dset.ok(), DataError, "{}: cannot open HDF5 dataset '{}'", path, kDatasetName);
  Handle file_type(H5Dget_type(dset.get()), H5Tclose);
  CHOP_CHECK(file_type.ok() && H5Tget_class(file_type.get()) == H5T_COMPOUND, DataError,
             "{}: dataset '{}' is not a compound (structured) array", path, kDatasetName);

  const std::vector<std::string> fields = all_fields();
  std::vector<std::string> missing;
  for (const auto& field : fields) {
    const int index = H5Tget_member_index(file_type.get(), field.c_str());
    if (index < 0) {
      missing.push_back(field);
      continue;
    }
    const H5T_class_t member_class =
        H5Tget_member_class(file_type.get(), static_cast<unsigned>(index));
    CHOP_CHECK(is_numeric_class(member_class), DataError,
               "{}: field '{}' of '{}' is not numeric", path, field, kDatasetName);
  }
  CHOP_CHECK(missing.empty(), DataError, "{}: dataset '{}' lacks field(s) {}", path,
             kDatasetName, join(missing));

  Handle space(H5Dget_space(dset.get()), H5Sclose);
  CHOP_CHECK(space.ok() && H5Sget_simple_extent_ndims(space.get()) == 1, DataError,
             "{}: dataset '{}' must be one-dimensional", path, kDatasetName);
  hsize_t n = 0;
  H5Sget_simple_extent_dims(space.get(), &n, nullptr);

  // Read by name into a packed float record; HDF5 converts each field's type.
  const Handle mem_type = float_compound(fields, H5T_NATIVE_FLOAT);
  const size_t width = fields.size();
  // A corrupt header can claim any number of rows: every stored field takes at least a byte a
  // row, and deflate expands at most 1032:1, so the file's bytes bound the rows it can hold.
  std::error_code size_error;
  const auto file_bytes = static_cast<hsize_t>(std::filesystem::file_size(path, size_error));
  CHOP_CHECK(!size_error && n <= file_bytes * 1032 / std::max<size_t>(width, 1), DataError,
             "{}: dataset '{}' claims {} rows, more than a {}-byte file can hold (corrupt file?)", path,
             kDatasetName, n, file_bytes);
  std::vector<float, PopulatedAllocator<float>> records(static_cast<size_t>(n) * width);
  // A large conversion buffer: HDF5's default (1 MiB) makes it convert in many small strips.
  Handle transfer(H5Pcreate(H5P_DATASET_XFER), H5Pclose);
  H5Pset_buffer(transfer.get(), size_t{64} << 20, nullptr, nullptr);
  CHOP_CHECK(n == 0 || H5Dread(dset.get(), mem_type.get(), H5S_ALL, H5S_ALL, transfer.get(),
                               records.data()) >= 0,
             DataError, "{}: reading dataset '{}' failed (corrupt or truncated file?)", path,
             kDatasetName);

  JscTable table;
  table.n_rows = static_cast<int64_t>(n);
  const size_t n_features = jsc_feature_names().size();
  const size_t n_labels = jsc_label_fields().size();
  table.features.resize(static_cast<size_t>(n) * n_features);
  table.labels.resize(static_cast<size_t>(n));
  for (size_t r = 0; r < n; ++r) {
    const float* row = records.data() + r * width;
    std::memcpy(table.features.data() + r * n_features, row, n_features * sizeof(float));
    int64_t label = -1;
    int hot = 0;
    for (size_t k = 0; k < n_labels; ++k) {
      const float v = row[n_features + k];
      if (v == 1.0f) {
        label = static_cast<int64_t>(k);
        ++hot;
      } else {
        CHOP_CHECK(v == 0.0f, DataError,
                   "{}: row {}: label field {} is {}, one-hot fields must be 0 or 1", path, r,
                   jsc_label_fields()[k], v);
      }
    }
    CHOP_CHECK(hot == 1, DataError,
               "{}: row {}: {} of the one-hot label fields j_g,j_q,j_w,j_z,j_t are 1, expected "
               "exactly one",
               path, r, hot);
    table.labels[r] = label;
  }
  return table;
}

void write_jsc_hdf5(const std::string& path, const JscTable& table, bool synthetic) {
  silence_hdf5();
  const std::vector<std::string> fields = all_fields();
  const size_t n_features = jsc_feature_names().size();
  const size_t width = fields.size();
  std::vector<float> records(static_cast<size_t>(table.n_rows) * width, 0.0f);
  for (size_t r = 0; r < static_cast<size_t>(table.n_rows); ++r) {
    std::memcpy(records.data() + r * width, table.features.data() + r * n_features,
                n_features * sizeof(float));
    records[r * width + n_features + static_cast<size_t>(table.labels[r])] = 1.0f;
  }
  Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
  CHOP_CHECK(file.ok(), DataError, "{}: cannot create HDF5 file", path);
  const Handle mem_type = float_compound(fields, H5T_NATIVE_FLOAT);
  const Handle file_type = float_compound(fields, H5T_IEEE_F32LE);
  const hsize_t n = static_cast<hsize_t>(table.n_rows);
  Handle space(H5Screate_simple(1, &n, nullptr), H5Sclose);
  // No modification times in object headers: the same table gives byte-identical files.
  Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  H5Pset_obj_track_times(dcpl.get(), false);
  Handle dset(H5Dcreate2(file.get(), kDatasetName, file_type.get(), space.get(), H5P_DEFAULT,
                         dcpl.get(), H5P_DEFAULT),
              H5Dclose);
  CHOP_CHECK(dset.ok(), DataError, "{}: cannot create HDF5 dataset '{}'", path, kDatasetName);
  CHOP_CHECK(n == 0 || H5Dwrite(dset.get(), mem_type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT,
                                records.data()) >= 0,
             DataError, "{}: writing dataset '{}' failed", path, kDatasetName);
  if (!synthetic) return;
  const std::string description =
      "SYNTHETIC jet-substructure-like data written by `chop data synth jsc`; not physics data";
  for (hid_t object : {file.get(), dset.get()}) {
    write_int_attribute(object, "synthetic", 1, path);
    write_string_attribute(object, "description", description, path);
  }
}

}  // namespace chop::data
