// Tests of the tabular loaders: JSC (HDF5 and OpenML CSV), users' CSV, splits and scaling.
#if __has_include(<hdf5.h>)
#include <hdf5.h>
#else
#include <hdf5/serial/hdf5.h>
#endif

#include "chop/data/data_module.h"
#include "chop/data/file_io.h"
#include "chop/data/jsc_table.h"
#include "chop/data/registry.h"
#include "chop/data/synth.h"
#include "chop/data/tabular.h"
#include "data_test_util.h"

namespace chop::data {
namespace {

using testing::expect_data_error;
using testing::read_all;
using testing::write_all;
using testing::write_text;

/// n rows with distinct, exactly representable feature values; label r % 5.
JscTable small_table(int64_t n) {
  JscTable t;
  t.n_rows = n;
  for (int64_t r = 0; r < n; ++r) {
    for (int64_t f = 0; f < 16; ++f) t.features.push_back(static_cast<float>(r) * 0.5f - f * 0.25f + 3.0f);
    t.labels.push_back(r % 5);
  }
  return t;
}

/// Feature f of a RawData pool row as float.
float at(const torch::Tensor& x, int64_t r, int64_t f) { return x[r][f].item<float>(); }

class JscTest : public testing::TempDirTest {
 protected:
  DataOptions options(const std::string& file) {
    DataOptions o;
    o.dataset = "jsc";
    o.data_path = file;
    return o;
  }
};

TEST_F(JscTest, Hdf5RoundTripIsExact) {
  const JscTable t = small_table(40);
  write_jsc_hdf5(path("a.h5"), t, true);
  const JscTable back = read_jsc_hdf5(path("a.h5"));
  EXPECT_EQ(back.n_rows, 40);
  EXPECT_EQ(back.features, t.features);
  EXPECT_EQ(back.labels, t.labels);
  const RawData raw = load_jsc(path("a.h5"));
  EXPECT_EQ(raw.info.input_shape, (std::vector<int64_t>{16}));
  EXPECT_EQ(at(raw.train_x, 7, 3), t.features[7 * 16 + 3]);
  EXPECT_TRUE(raw.drop_duplicates);
}

/// MASE's own file has more fields, other types and another order: fields are read by name.
TEST_F(JscTest, Hdf5ReadsFieldsByNameAndConvertsTypes) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  std::vector<std::string> fields = {"j_pt", "j_t", "j_z", "j_w", "j_q", "j_g"};
  for (int f = 15; f >= 0; --f) fields.push_back(jsc_feature_names()[static_cast<size_t>(f)]);
  // Record: j_pt double, five int32 labels, 16 doubles in reverse order.
  const size_t record = 8 + 5 * 4 + 16 * 8;
  const hid_t type = H5Tcreate(H5T_COMPOUND, record);
  size_t offset = 0;
  for (size_t i = 0; i < fields.size(); ++i) {
    const bool label = i >= 1 && i <= 5;
    H5Tinsert(type, fields[i].c_str(), offset, label ? H5T_NATIVE_INT32 : H5T_NATIVE_DOUBLE);
    offset += label ? 4 : 8;
  }
  const hsize_t n = 3;
  std::vector<unsigned char> buf(record * n);
  const int classes[3] = {4, 0, 2};  // t, g, w
  for (size_t r = 0; r < n; ++r) {
    unsigned char* p = buf.data() + r * record;
    const double pt = 100.0 + r;
    std::memcpy(p, &pt, 8);
    for (int k = 0; k < 5; ++k) {  // stored order j_t, j_z, j_w, j_q, j_g = classes 4..0
      const int32_t hot = (4 - k) == classes[r] ? 1 : 0;
      std::memcpy(p + 8 + 4 * k, &hot, 4);
    }
    for (int i = 0; i < 16; ++i) {  // feature 15 - i
      const double v = 1000.0 * r + (15 - i) + 0.125;
      std::memcpy(p + 28 + 8 * i, &v, 8);
    }
  }
  const hid_t file = H5Fcreate(path("mase.z").c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  const hid_t space = H5Screate_simple(1, &n, nullptr);
  const hid_t dset = H5Dcreate2(file, "t_allpar_new", type, space, H5P_DEFAULT, H5P_DEFAULT,
                                H5P_DEFAULT);
  ASSERT_GE(H5Dwrite(dset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()), 0);
  H5Dclose(dset);
  H5Sclose(space);
  H5Tclose(type);
  H5Fclose(file);

  const JscTable t = read_jsc_hdf5(path("mase.z"));
  ASSERT_EQ(t.n_rows, 3);
  EXPECT_EQ(t.labels, (std::vector<int64_t>{4, 0, 2}));
  for (int64_t r = 0; r < 3; ++r) {
    for (int64_t f = 0; f < 16; ++f) {
      EXPECT_EQ(t.features[static_cast<size_t>(r * 16 + f)], 1000.0f * r + f + 0.125f);
    }
  }
  // The `.z` name does not stop the loader: HDF5 is recognised by its signature.
  EXPECT_EQ(load_jsc(path("mase.z")).train_x.size(0), 3);
}

TEST_F(JscTest, Hdf5MissingFieldOrDatasetNamesFile) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  const hid_t type = H5Tcreate(H5T_COMPOUND, 8);
  H5Tinsert(type, "j_zlogz", 0, H5T_NATIVE_FLOAT);
  H5Tinsert(type, "j_g", 4, H5T_NATIVE_FLOAT);
  const hsize_t n = 1;
  const float row[2] = {1.0f, 1.0f};
  for (const char* name : {"t_allpar_new", "other"}) {
    const hid_t file = H5Fcreate(path(name).c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    const hid_t space = H5Screate_simple(1, &n, nullptr);
    const hid_t dset = H5Dcreate2(file, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(dset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, row);
    H5Dclose(dset);
    H5Sclose(space);
    H5Fclose(file);
  }
  H5Tclose(type);
  expect_data_error([&] { read_jsc_hdf5(path("t_allpar_new")); },
                    {path("t_allpar_new"), "lacks field(s)", "j_c1_b0_mmdt", "j_t"});
  expect_data_error([&] { load_jsc(path("other")); }, {path("other"), "'t_allpar_new' not found"});
}

TEST_F(JscTest, Hdf5NotOneHotNamesFile) {
  JscTable t = small_table(5);
  write_jsc_hdf5(path("a.h5"), t, false);
  // Make row 3 two-hot by rewriting the table with a label field patched through HDF5.
  const hid_t file = H5Fopen(path("a.h5").c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  const hid_t dset = H5Dopen2(file, "t_allpar_new", H5P_DEFAULT);
  const hid_t mem = H5Tcreate(H5T_COMPOUND, sizeof(float));
  H5Tinsert(mem, "j_t", 0, H5T_NATIVE_FLOAT);
  std::vector<float> hot = {0, 0, 0, 1, 0};
  H5Dwrite(dset, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, hot.data());
  H5Tclose(mem);
  H5Dclose(dset);
  H5Fclose(file);
  expect_data_error([&] { read_jsc_hdf5(path("a.h5")); }, {path("a.h5"), "row 3", "exactly one"});
}

TEST_F(JscTest, TruncatedOrGarbageFilesNameFile) {
  write_jsc_hdf5(path("a.h5"), small_table(2000), false);
  auto bytes = read_all(path("a.h5"));
  bytes.resize(bytes.size() / 2);
  write_all(path("cut.h5"), bytes);
  expect_data_error([&] { load_jsc(path("cut.h5")); }, {path("cut.h5")});
  write_text(path("junk.h5"), "this is not HDF5 at all");
  expect_data_error([&] { load_jsc(path("junk.h5")); }, {path("junk.h5"), "not an HDF5 file"});
}

TEST_F(JscTest, MissingFileSaysWhereAndHow) {
  const DataOptions o = options(path("nope.h5"));
  expect_data_error([&] { DataModule dm(o); },
                    {path("nope.h5"), "not found", "--data-path", "chop data synth jsc"});
  DataOptions by_dir;
  by_dir.dataset = "jsc";
  by_dir.data_dir = dir();
  expect_data_error([&] { DataModule dm(by_dir); }, {dir(), kJscMaseFile});
}

TEST_F(JscTest, OpenmlCsvMapsClassesToMaseOrder) {
  std::string csv;
  // Columns in another order, some with the j_ prefix, class quoted as ARFF exports do.
  std::vector<std::string> names = jsc_feature_names();
  std::reverse(names.begin(), names.end());
  csv += "class";
  for (size_t i = 0; i < names.size(); ++i) csv += "," + (i % 2 ? names[i] : names[i].substr(2));
  csv += "\r\n";
  const char* classes[] = {"g", "q", "t", "w", "z"};
  for (int r = 0; r < 5; ++r) {
    csv += fmt::format("\"{}\"", classes[r]);
    for (int i = 0; i < 16; ++i) csv += fmt::format(",{}", r * 100 + (15 - i) + 0.5);
    csv += "\r\n";
  }
  csv += "\n";  // trailing blank line
  write_text(path("jets.csv"), csv);
  const RawData raw = load_jsc(path("jets.csv"));
  EXPECT_TRUE(torch::equal(raw.train_y, torch::tensor({0, 1, 4, 2, 3}, torch::kInt64)));
  EXPECT_EQ(at(raw.train_x, 2, 0), 200.5f);
  EXPECT_EQ(at(raw.train_x, 3, 15), 315.5f);
}

TEST_F(JscTest, CsvErrorsNameFileAndProblem) {
  const std::string f = path("bad.csv");
  write_text(f, "zlogz,class\n1,g\n");
  expect_data_error([&] { load_jsc(f); }, {f, "missing column(s)", "c1_b0_mmdt", "multiplicity"});

  write_jsc_csv(f, small_table(4));
  const auto original = read_all(f);
  const std::string text(original.begin(), original.end());
  std::string bad_class = text.substr(0, text.rfind(',') + 1) + "x\n";
  write_text(f, bad_class);
  expect_data_error([&] { load_jsc(f); }, {f + ":5", "class 'x'"});

  std::string truncated = text;
  truncated.resize(truncated.size() - 9);
  write_text(f, truncated);
  expect_data_error([&] { load_jsc(f); }, {f + ":5", "fields"});

  write_text(f, text.substr(0, text.find('\n') + 1) + "abc" + text.substr(text.find('\n') + 2));
  expect_data_error([&] { load_jsc(f); }, {f + ":2", "zlogz", "not a finite number"});
}

TEST_F(JscTest, SplitsDropDuplicatesAndScaleOnTrainOnly) {
  JscTable t = make_synthetic_jsc(1000, 5);
  // Exactly 50 extra copies of earlier rows: remove the generator's own duplicates first.
  write_jsc_hdf5(path("tmp.h5"), t, false);
  DataOptions o = options(path("tmp.h5"));
  const int64_t own_duplicates = DataModule(o).num_duplicates_dropped();
  EXPECT_GT(own_duplicates, 0);  // the generator repeats ~1% of rows, as the real data does
  for (int64_t r = 0; r < 50; ++r) {
    t.features.insert(t.features.end(), t.features.begin() + r * 16, t.features.begin() + r * 16 + 16);
    t.labels.push_back(t.labels[static_cast<size_t>(r)]);
  }
  t.n_rows += 50;
  write_jsc_hdf5(path("dup.h5"), t, false);
  const DataModule dm(options(path("dup.h5")));
  EXPECT_EQ(dm.num_duplicates_dropped(), own_duplicates + 50);
  const int64_t n = 1050 - dm.num_duplicates_dropped();
  const int64_t n_test = (n + 4) / 5;  // ceil(0.2 n)
  const int64_t n_val = std::llround(0.1 * static_cast<double>(n - n_test));
  EXPECT_EQ(dm.test().size(), n_test);
  EXPECT_EQ(dm.val().size(), n_val);
  EXPECT_EQ(dm.train().size(), n - n_test - n_val);
  EXPECT_EQ(dm.info().num_classes, 5);
  EXPECT_EQ(dm.info().class_names, (std::vector<std::string>{"g", "q", "w", "z", "t"}));

  const torch::Tensor train_mean = dm.train().x.mean(0);
  const torch::Tensor train_std = dm.train().x.std(0, /*unbiased=*/false);
  EXPECT_LT(train_mean.abs().max().item<float>(), 1e-4);
  EXPECT_LT((train_std - 1).abs().max().item<float>(), 1e-4);
  // Held-out parts are scaled with the training statistics, so they are not exactly standard.
  EXPECT_GT(dm.test().x.mean(0).abs().max().item<float>(), 1e-3);
  EXPECT_GT(dm.val().x.mean(0).abs().max().item<float>(), 1e-3);

  // The split does not depend on the training seed.
  DataOptions other = options(path("dup.h5"));
  other.seed = 77;
  EXPECT_TRUE(torch::equal(DataModule(other).test().x, dm.test().x));
}

TEST_F(JscTest, SyntheticHdf5AndCsvLoadIdentically) {
  const auto h5 = write_synthetic("jsc", path("s.h5"), 600, 11);
  const auto csv = write_synthetic("jsc", path("s.csv"), 600, 11);
  EXPECT_EQ(h5.size(), 1u);
  ASSERT_EQ(csv.size(), 2u);  // data and the sidecar saying it is synthetic
  EXPECT_TRUE(file_exists(path("s.csv.synthetic.txt")));
  const DataModule a(options(path("s.h5")));
  const DataModule b(options(path("s.csv")));
  EXPECT_TRUE(torch::equal(a.train().x, b.train().x));
  EXPECT_TRUE(torch::equal(a.test().y, b.test().y));

  // Labelled synthetic inside the HDF5 file.
  const hid_t file = H5Fopen(path("s.h5").c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  const hid_t attr = H5Aopen_by_name(file, "t_allpar_new", "synthetic", H5P_DEFAULT, H5P_DEFAULT);
  int flag = 0;
  ASSERT_GE(attr, 0);
  H5Aread(attr, H5T_NATIVE_INT, &flag);
  H5Aclose(attr);
  H5Fclose(file);
  EXPECT_EQ(flag, 1);

  // Seeded and deterministic, byte for byte.
  write_synthetic("jsc", path("t.h5"), 600, 11);
  write_synthetic("jsc", path("t.csv"), 600, 11);
  EXPECT_EQ(read_all(path("s.h5")), read_all(path("t.h5")));
  EXPECT_EQ(read_all(path("s.csv")), read_all(path("t.csv")));
  write_synthetic("jsc", path("u.csv"), 600, 12);
  EXPECT_NE(read_all(path("s.csv")), read_all(path("u.csv")));
  EXPECT_THROW(write_synthetic("jsc", path("x.parquet"), 10, 1), ConfigError);
}

/// Learnable but not trivial: a small MLP clearly beats a linear model.
TEST_F(JscTest, SyntheticNeedsANonlinearModel) {
  torch::manual_seed(0);
  write_synthetic("jsc", path("s.h5"), 6000, 1);
  DataOptions o = options(path("s.h5"));
  const DataModule dm(o);
  auto fit = [&](torch::nn::Sequential model) {
    torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(1e-2));
    for (int step = 0; step < 400; ++step) {
      opt.zero_grad();
      torch::nn::functional::cross_entropy(model->forward(dm.train().x), dm.train().y).backward();
      opt.step();
    }
    torch::NoGradGuard no_grad;
    return model->forward(dm.test().x).argmax(1).eq(dm.test().y).to(torch::kFloat).mean().item<double>();
  };
  const double linear = fit(torch::nn::Sequential(torch::nn::Linear(16, 5)));
  const double mlp = fit(torch::nn::Sequential(torch::nn::Linear(16, 64), torch::nn::ReLU(),
                                               torch::nn::Linear(64, 32), torch::nn::ReLU(),
                                               torch::nn::Linear(32, 5)));
  std::printf("[ synth  ] JSC test accuracy: linear %.3f, MLP %.3f\n", linear, mlp);
  EXPECT_GT(mlp, linear + 0.15);
  EXPECT_GT(mlp, 0.70);
  EXPECT_LT(mlp, 0.98);
}

// --- users' CSV ------------------------------------------------------------------------------

class CsvTest : public testing::TempDirTest {
 protected:
  DataOptions options(const std::string& file, const std::string& label = "label") {
    DataOptions o;
    o.dataset = "csv";
    o.data_path = file;
    o.label_column = label;
    o.normalize = false;
    o.val_fraction = 0;
    return o;
  }
};

TEST_F(CsvTest, StringLabelsSortedAndValuesExact) {
  std::string text = "a,species,b\n";
  for (int r = 0; r < 20; ++r) {
    text += fmt::format("{},{},{}\n", r * 0.25, r % 3 == 0 ? "setosa" : (r % 3 == 1 ? "virginica" : "versicolor"), -r);
  }
  write_text(path("iris.csv"), text);
  const DataOptions o = options(path("iris.csv"), "species");
  const DatasetInfo info = dataset_info(o);
  EXPECT_EQ(info.input_shape, (std::vector<int64_t>{2}));
  EXPECT_EQ(info.class_names, (std::vector<std::string>{"setosa", "versicolor", "virginica"}));
  EXPECT_EQ(info.feature_names, (std::vector<std::string>{"a", "b"}));
  const RawData raw = load_csv_dataset(path("iris.csv"), "species");
  EXPECT_EQ(at(raw.train_x, 5, 0), 1.25f);
  EXPECT_EQ(at(raw.train_x, 5, 1), -5.0f);
  EXPECT_EQ(raw.train_y[5].item<int64_t>(), 1);  // r=5: versicolor
  const DataModule dm(o);
  EXPECT_EQ(dm.test().size(), 4);
  EXPECT_EQ(dm.train().size(), 16);
  EXPECT_EQ(dm.val().size(), 0);
  EXPECT_EQ(dm.num_batches(SplitKind::val), 0);
}

TEST_F(CsvTest, IntegerLabels) {
  write_text(path("d.csv"), "x,label\n0.5,2\n1.5,0\n2.5,2\n3.5,1\n4.5,0\n");
  const RawData raw = load_csv_dataset(path("d.csv"), "label");
  EXPECT_EQ(raw.info.num_classes, 3);
  EXPECT_TRUE(torch::equal(raw.train_y, torch::tensor({2, 0, 2, 1, 0}, torch::kInt64)));
  EXPECT_FALSE(raw.drop_duplicates);
}

TEST_F(CsvTest, ErrorsNameFileAndProblem) {
  const std::string f = path("d.csv");
  write_text(f, "x,y\n1,2\n");
  expect_data_error([&] { load_csv_dataset(f, "label"); }, {f, "missing label column 'label'", "x, y"});
  write_text(f, "x,label\n1,2\nfoo,1\n");
  expect_data_error([&] { load_csv_dataset(f, "label"); }, {f + ":3", "'x'", "'foo'"});
  write_text(f, "x,label\n1,-1\n");
  expect_data_error([&] { load_csv_dataset(f, "label"); }, {f + ":2", "negative"});
  write_text(f, "");
  expect_data_error([&] { load_csv_dataset(f, "label"); }, {f, "empty"});
  expect_data_error([&] { load_csv_dataset(path("none.csv"), "label"); }, {path("none.csv"), "not found"});
  DataOptions no_path;
  no_path.dataset = "csv";
  EXPECT_THROW(dataset_info(no_path), ConfigError);
}

}  // namespace
}  // namespace chop::data
