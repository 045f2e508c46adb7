// The JSC (jet substructure) table: feature and class order, and the HDF5 reader and writer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace chop::data {

/// The 16 JSC features in MASE order, with the `j_` prefix (OpenML's CSV drops it).
const std::vector<std::string>& jsc_feature_names();

/// MASE's one-hot label fields in class order: j_g, j_q, j_w, j_z, j_t (g=0 q=1 w=2 z=3 t=4).
const std::vector<std::string>& jsc_label_fields();

/// Class names in class order: g, q, w, z, t.
const std::vector<std::string>& jsc_class_names();

/// Rows of JSC data: features row-major [n_rows x 16] in jsc_feature_names() order.
struct JscTable {
  int64_t n_rows = 0;
  std::vector<float> features;
  std::vector<int64_t> labels;  ///< class index in jsc_class_names() order
};

/// True when path is an HDF5 file (by its signature, not its name: MASE's file ends in `.z`).
bool is_hdf5_file(const std::string& path);

/// Reads MASE's HDF5 layout: dataset `t_allpar_new`, a 1-D compound array; the 16 feature and
/// 5 one-hot label fields are read by name (other fields are ignored; any numeric field type
/// is converted to float). Throws DataError naming path for a missing dataset or field, a
/// non-compound dataset, an unreadable file or a row whose label fields are not one-hot.
JscTable read_jsc_hdf5(const std::string& path);

/// Writes table in the same layout (float32 fields). synthetic adds the attributes
/// `synthetic=1` and a `description` on the dataset and the file. Throws DataError on failure.
void write_jsc_hdf5(const std::string& path, const JscTable& table, bool synthetic);

}  // namespace chop::data
