// The data set registry: every data set listed once with its name, description and factory.
#include "chop/data/registry.h"

#include "chop/data/file_io.h"
#include "chop/data/images.h"
#include "chop/data/jsc_table.h"
#include "chop/data/raw_data.h"
#include "chop/data/tabular.h"
#include "chop/support/error.h"
#include "chop/support/strings.h"

namespace chop::data {
namespace {

/// The directory of a directory-based data set: data_dir, else data_path, else the default.
std::string dir_or(const DataOptions& o, const char* fallback) {
  if (!o.data_dir.empty()) return o.data_dir;
  if (!o.data_path.empty()) return o.data_path;
  return fallback;
}

DatasetInfo image_info(const char* name, std::vector<int64_t> shape,
                       const std::vector<std::string>& classes) {
  DatasetInfo info;
  info.name = name;
  info.input_shape = std::move(shape);
  info.num_classes = static_cast<int64_t>(classes.size());
  info.class_names = classes;
  return info;
}

// --- fashion-mnist ---------------------------------------------------------------------------
DatasetInfo fashion_mnist_info(const DataOptions&) {
  return image_info("fashion-mnist", {1, 28, 28}, fashion_mnist_classes());
}
RawData fashion_mnist_load(const DataOptions& o) {
  return load_idx_dataset(dir_or(o, kFashionMnistDir), "fashion-mnist", fashion_mnist_classes(),
                          "install the Debian package dataset-fashion-mnist (scripts/setup "
                          "does) or pass --data-dir DIR holding the four IDX files");
}

// --- mnist -----------------------------------------------------------------------------------
DatasetInfo mnist_info(const DataOptions&) {
  return image_info("mnist", {1, 28, 28}, mnist_classes());
}
RawData mnist_load(const DataOptions& o) {
  return load_idx_dataset(dir_or(o, kMnistDir), "mnist", mnist_classes(),
                          "download the four IDX files (train-images-idx3-ubyte.gz, ...) from "
                          "http://yann.lecun.com/exdb/mnist/ into a directory and pass "
                          "--data-dir DIR, or write a synthetic stand-in with `chop data synth "
                          "mnist --out DIR`");
}

// --- cifar10 ---------------------------------------------------------------------------------
DatasetInfo cifar10_info(const DataOptions&) {
  return image_info("cifar10", {3, 32, 32}, cifar10_classes());
}
RawData cifar10_load(const DataOptions& o) { return load_cifar10(dir_or(o, kCifar10Dir)); }

// --- jsc -------------------------------------------------------------------------------------
std::string jsc_path(const DataOptions& o) {
  if (!o.data_path.empty()) return o.data_path;
  const std::string dir = dir_or(o, kJscDir);
  const std::string openml = join_path(dir, kJscOpenmlFile);
  if (file_exists(openml) && !file_exists(join_path(dir, kJscMaseFile))) return openml;
  return join_path(dir, kJscMaseFile);
}
DatasetInfo jsc_info(const DataOptions&) {
  DatasetInfo info = image_info("jsc", {static_cast<int64_t>(jsc_feature_names().size())},
                                jsc_class_names());
  info.feature_names = jsc_feature_names();
  return info;
}
RawData jsc_load(const DataOptions& o) { return load_jsc(jsc_path(o)); }

// --- csv -------------------------------------------------------------------------------------
std::string csv_path(const DataOptions& o) {
  CHOP_CHECK(!o.data_path.empty(), ConfigError,
             "data set 'csv' needs a file: pass --data-path FILE (a CSV with a header, numeric "
             "feature columns and a '{}' label column)",
             o.label_column);
  return o.data_path;
}
DatasetInfo csv_info(const DataOptions& o) {
  return csv_dataset_info(csv_path(o), o.label_column);
}
RawData csv_load(const DataOptions& o) { return load_csv_dataset(csv_path(o), o.label_column); }

}  // namespace

const std::vector<DatasetEntry>& dataset_registry() {
  static const std::vector<DatasetEntry> entries = {
      {"fashion-mnist", "Fashion-MNIST 28x28 grey images, 10 classes (IDX, gzip or plain)",
       fashion_mnist_info, fashion_mnist_load},
      {"mnist", "MNIST 28x28 grey digits, 10 classes (IDX, gzip or plain)", mnist_info,
       mnist_load},
      {"cifar10", "CIFAR-10 32x32 colour images, 10 classes (binary batches)", cifar10_info,
       cifar10_load},
      {"jsc", "jet substructure classification, 16 features, 5 classes (MASE HDF5 or OpenML CSV)",
       jsc_info, jsc_load},
      {"csv", "your own CSV: numeric feature columns and a label column", csv_info, csv_load},
  };
  return entries;
}

std::vector<std::string> dataset_names() {
  std::vector<std::string> names;
  for (const auto& entry : dataset_registry()) names.emplace_back(entry.name);
  return names;
}

const DatasetEntry& find_dataset(const std::string& name) {
  for (const auto& entry : dataset_registry()) {
    if (name == entry.name) return entry;
  }
  throw ConfigError(unknown_name_message("data set", name, dataset_names()));
}

DatasetInfo dataset_info(const DataOptions& options) {
  return find_dataset(options.dataset).info(options);
}

DatasetInfo dataset_info(const std::string& name) {
  DataOptions options;
  options.dataset = name;
  return dataset_info(options);
}

std::string data_location(const DataOptions& o) {
  const std::string name = find_dataset(o.dataset).name;
  if (name == "fashion-mnist") return dir_or(o, kFashionMnistDir);
  if (name == "mnist") return dir_or(o, kMnistDir);
  if (name == "cifar10") return dir_or(o, kCifar10Dir);
  if (name == "jsc") return jsc_path(o);
  return o.data_path;
}

}  // namespace chop::data
