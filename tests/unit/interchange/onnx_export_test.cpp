// ONNX / QONNX export: onnx::checker on every export (inside export_onnx), outputs against
// onnxruntime (npm onnxruntime-node, run through tests/onnx/run_onnx.js), QONNX's Quant nodes.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "chop/interchange/onnx_export.h"
#include "chop/interchange/onnx_import.h"
#include "chop/models/zoo.h"
#include "chop/passes/measure.h"
#include "chop/passes/pass_manager.h"
#include "chop/support/error.h"

using namespace chop;
namespace fs = std::filesystem;

namespace {

fs::path temp(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / "chop_onnx_test";
  fs::create_directories(dir);
  return dir / name;
}

/// onnxruntime's output for x (the runtime nobody here wrote).
torch::Tensor onnxruntime(const fs::path& model, const torch::Tensor& x_in) {
  torch::Tensor x = x_in.contiguous().to(torch::kFloat);
  // Files of this model's own: ctest runs tests in parallel processes.
  const std::string stem = model.stem().string();
  fs::path in = temp(stem + ".in.bin"), out = temp(stem + ".out.bin"), dims_file = temp(stem + ".dims.txt");
  std::ofstream(in, std::ios::binary).write(static_cast<const char*>(x.data_ptr()), x.numel() * 4);
  std::string dims;
  for (int64_t d : x.sizes()) dims += (dims.empty() ? "" : ",") + std::to_string(d);
  std::string cmd = "node " + std::string(CHOP_SOURCE_DIR) + "/tests/onnx/run_onnx.js " + model.string() + " " +
                    in.string() + " " + out.string() + " " + dims + " > " + dims_file.string();
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd << " (scripts/setup installs node and onnxruntime-node)";
  std::ifstream df(dims_file);
  std::string out_dims;
  std::getline(df, out_dims);
  std::vector<int64_t> shape;
  std::stringstream ss(out_dims);
  for (std::string d; std::getline(ss, d, ',');) shape.push_back(std::stoll(d));
  std::ifstream f(out, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  EXPECT_EQ(static_cast<int64_t>(bytes.size()), n * 4) << "onnxruntime's output of " << model;
  if (static_cast<int64_t>(bytes.size()) != n * 4) return torch::zeros(shape);
  return torch::from_blob(bytes.data(), shape, torch::kFloat).clone();
}

onnx::ModelProto read(const fs::path& p) {
  onnx::ModelProto m;
  std::ifstream f(p, std::ios::binary);
  EXPECT_TRUE(m.ParseFromIstream(&f)) << p;
  return m;
}

torch::Tensor chop_forward(runtime::GraphModule& m, const torch::Tensor& x) {
  m->eval();
  torch::NoGradGuard no_grad;
  return m->forward(x);
}

/// jsc-tiny with MASE's fixed-point 8-bit quantization of its Linear.
runtime::GraphModule quantized_jsc(const std::string& name = "integer") {
  ir::Graph g = models::build_model("jsc-tiny");
  auto m = runtime::build_module(g, 3);
  nlohmann::ordered_json t = {{"quantize",
                               {{"by", "type"},
                                {"default", {{"config", {{"name", "NA"}}}}},
                                {"linear", {{"config", {{"name", name}, {"data_in_width", 8}, {"data_in_frac_width", 4},
                                                        {"weight_width", 8}, {"weight_frac_width", 5},
                                                        {"bias_width", 8}, {"bias_frac_width", 4}}}}}}}};
  if (name == "minifloat")
    t["quantize"]["linear"]["config"] = {{"name", "minifloat"}, {"data_in_width", 8}, {"data_in_exponent_width", 4},
                                         {"weight_width", 8}, {"weight_exponent_width", 4},
                                         {"bias_width", 8}, {"bias_exponent_width", 4}};
  auto pm = passes::PassManager::from_toml(t);
  passes::PassContext ctx;
  ctx.module = m.ptr();
  pm.run(g, ctx);
  return runtime::GraphModule(passes::module_for(g, ctx));
}

}  // namespace

TEST(OnnxExport, EveryZooModelMatchesOnnxruntime) {
  for (const auto& info : models::model_registry()) {
    ir::Graph g = models::build_model(info.name);
    auto m = runtime::build_module(g, 7);
    fs::path p = temp(info.name + ".onnx");
    interchange::export_onnx(m, {}, p.string());
    torch::manual_seed(0);
    std::vector<int64_t> shape{2};
    shape.insert(shape.end(), info.default_input_shape.begin(), info.default_input_shape.end());
    torch::Tensor x = torch::randn(shape);
    torch::Tensor want = chop_forward(m, x), got = onnxruntime(p, x);
    ASSERT_EQ(got.sizes(), want.sizes()) << info.name;
    EXPECT_TRUE(torch::allclose(got, want, 1e-5, 1e-5)) << info.name << ": " << (got - want).abs().max();
    // hls4ml's conventions: no Gemm, unique non-empty node names, a value_info per inner tensor.
    onnx::ModelProto model = read(p);
    EXPECT_EQ(model.opset_import(0).version(), 13);
    std::set<std::string> names;
    for (const auto& n : model.graph().node()) {
      EXPECT_NE(n.op_type(), "Gemm");
      EXPECT_FALSE(n.name().empty());
      EXPECT_TRUE(names.insert(n.name()).second) << "duplicate node name " << n.name();
    }
    std::set<std::string> typed;
    for (const auto& v : model.graph().value_info()) typed.insert(v.name());
    for (const auto& n : model.graph().node())
      for (const auto& o : n.output())
        if (o != model.graph().output(0).name()) {
          EXPECT_TRUE(typed.count(o)) << info.name << ": no value_info for " << o;
        }
  }
}

TEST(OnnxExport, LinearIsMatMulPlusAddNamedAfterTheNode) {
  auto m = runtime::build_module(models::build_model("jsc-tiny"), 1);
  fs::path p = temp("tiny.onnx");
  interchange::export_onnx(m, {}, p.string());
  onnx::ModelProto model = read(p);
  std::vector<std::string> ops, names;
  for (const auto& n : model.graph().node()) {
    ops.push_back(n.op_type());
    names.push_back(n.name());
  }
  EXPECT_EQ(ops, (std::vector<std::string>{"BatchNormalization", "Relu", "MatMul", "Add", "Relu"}));
  EXPECT_EQ(names, (std::vector<std::string>{"seq_blocks_0", "seq_blocks_1", "seq_blocks_2", "seq_blocks_2_bias", "seq_blocks_3"}));
}

TEST(OnnxExport, FoldedBatchNormGivesTheSameOutputs) {
  for (const char* name : {"jsc-tiny", "cnn-small"}) {
    auto m = runtime::build_module(models::build_model(name), 5);
    // Statistics that are not the defaults, so folding has something to fold.
    torch::NoGradGuard no_grad;
    for (auto& b : m->named_buffers())
      if (b.key().find("running_var") != std::string::npos) b.value().uniform_(0.5, 2.0);
    interchange::ExportOptions o;
    o.fold_bn = true;
    fs::path p = temp(std::string(name) + "_fold.onnx");
    interchange::export_onnx(m, o, p.string());
    auto info = models::model_info(name);
    std::vector<int64_t> shape{3};
    shape.insert(shape.end(), info.default_input_shape.begin(), info.default_input_shape.end());
    torch::Tensor x = torch::randn(shape);
    torch::Tensor want = chop_forward(m, x), got = onnxruntime(p, x);
    EXPECT_TRUE(torch::allclose(got, want, 1e-4, 1e-5)) << name << ": " << (got - want).abs().max();
    size_t n_bn = 0;
    const onnx::ModelProto model = read(p);
    for (const auto& n : model.graph().node()) n_bn += n.op_type() == "BatchNormalization";
    EXPECT_EQ(n_bn, std::string(name) == "jsc-tiny" ? 1u : 0u) << name << ": a BN after a conv is folded, the input BN kept";
  }
}

TEST(OnnxExport, QonnxQuantNodesCarryTheRealScales) {
  auto m = quantized_jsc();
  fs::path p = temp("tiny_q.onnx");
  interchange::ExportOptions o;
  o.format = interchange::ExportFormat::qonnx;
  interchange::export_onnx(m, o, p.string());
  onnx::ModelProto model = read(p);
  ASSERT_EQ(model.opset_import_size(), 2);
  EXPECT_EQ(model.opset_import(1).domain(), "qonnx.custom_op.general");
  std::map<std::string, const onnx::TensorProto*> init;
  for (const auto& t : model.graph().initializer()) init[t.name()] = &t;
  auto scalar = [&](const std::string& name) {
    const onnx::TensorProto* t = init.at(name);
    float v;
    std::memcpy(&v, t->raw_data().data(), 4);
    return v;
  };
  std::vector<std::string> quants;
  for (const auto& n : model.graph().node())
    if (n.op_type() == "Quant") {
      quants.push_back(n.name());
      EXPECT_EQ(n.domain(), "qonnx.custom_op.general");
      std::map<std::string, onnx::AttributeProto> a;
      for (const auto& attr : n.attribute()) a[attr.name()] = attr;
      EXPECT_EQ(a.at("signed").i(), 1);
      EXPECT_EQ(a.at("narrow").i(), 0);
      EXPECT_EQ(a.at("rounding_mode").s(), "ROUND");
      EXPECT_EQ(scalar(n.input(3)), 8.0f);  // bit width
      EXPECT_EQ(scalar(n.input(2)), 0.0f);  // zero point
    }
  EXPECT_EQ(quants, (std::vector<std::string>{"seq_blocks_2_data_in_quant", "seq_blocks_2_weight_quant",
                                              "seq_blocks_2_bias_quant"}));
  // MASE's fixed point (w, f) is scale 2^-f.
  EXPECT_EQ(scalar("seq_blocks_2_data_in_scale"), 1.0f / 16);
  EXPECT_EQ(scalar("seq_blocks_2_weight_scale"), 1.0f / 32);
  EXPECT_EQ(scalar("seq_blocks_2_bias_scale"), 1.0f / 16);
}

TEST(OnnxExport, QuantizedForwardMatchesOnnxruntimeInStandardOps) {
  auto m = quantized_jsc();
  fs::path p = temp("tiny_std.onnx");
  interchange::ExportOptions o;
  o.format = interchange::ExportFormat::quant_std;
  interchange::export_onnx(m, o, p.string());
  torch::manual_seed(1);
  torch::Tensor x = torch::randn({64, 16});
  torch::Tensor want = chop_forward(m, x), got = onnxruntime(p, x);
  // Ties on a rounding boundary may land one step apart: at most one output step (2^-4 in, 2^-5
  // weights) per element, and nearly all equal.
  torch::Tensor diff = (got - want).abs();
  EXPECT_LE(diff.max().item<double>(), 0.25) << diff.max();
  EXPECT_GE((diff < 1e-5).to(torch::kFloat).mean().item<double>(), 0.95);
  EXPECT_FALSE(torch::allclose(want, chop_forward(*std::make_unique<runtime::GraphModule>(runtime::build_module(models::build_model("jsc-tiny"), 3)), x)))
      << "the quantization must change the outputs, or this test checks nothing";
}

TEST(OnnxExport, ErrorsNameTheProblemAndWriteNothing) {
  auto m = quantized_jsc("minifloat");
  interchange::ExportOptions o;
  o.format = interchange::ExportFormat::qonnx;
  fs::path p = temp("mini.onnx");
  fs::remove(p);
  try {
    interchange::export_onnx(m, o, p.string());
    FAIL();
  } catch (const GraphError& e) {
    EXPECT_NE(std::string(e.what()).find("QONNX's Quant (integers with a scale) cannot hold"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(p));
  auto f = runtime::build_module(models::build_model("jsc-tiny"), 1);
  EXPECT_THROW(interchange::export_onnx(f, {}, "/proc/chop/nope.onnx"), DataError);
  EXPECT_THROW(interchange::parse_export_format("tflite"), ConfigError);
}

TEST(OnnxImport, ExportOfEveryZooModelReadsBackExactly) {
  for (const auto& info : models::model_registry()) {
    ir::Graph g = models::build_model(info.name);
    auto m = runtime::build_module(g, 11);
    {
      torch::NoGradGuard no_grad;
      for (auto& b : m->named_buffers())
        if (b.key().find("running_") != std::string::npos) b.value().uniform_(0.5, 1.5);
    }
    fs::path p = temp(info.name + "_rt.onnx");
    interchange::export_onnx(m, {}, p.string());
    auto back = interchange::import_onnx(p.string(), {});
    const ir::Graph& h = back->graph();
    // Dropout is the identity at inference and not exported: compare the other nodes.
    std::vector<const ir::Node*> want;
    for (const auto& n : g.nodes())
      if (n.op != ir::OpKind::Dropout) want.push_back(&n);
    ASSERT_EQ(h.nodes().size(), want.size()) << info.name;
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(h.nodes()[i].name, want[i]->name) << info.name;
      EXPECT_EQ(h.nodes()[i].op, want[i]->op) << info.name << " " << want[i]->name;
      ir::Attrs a = h.nodes()[i].attrs;
      a.inplace = want[i]->attrs.inplace;  // ReLU(inplace=True) prints so in torch; ONNX has no in-place
      EXPECT_EQ(a, want[i]->attrs) << info.name << " " << want[i]->name;
    }
    torch::manual_seed(2);
    std::vector<int64_t> shape{2};
    shape.insert(shape.end(), info.default_input_shape.begin(), info.default_input_shape.end());
    torch::Tensor x = torch::randn(shape);
    EXPECT_TRUE(torch::equal(chop_forward(back, x), chop_forward(m, x))) << info.name;
  }
}

TEST(OnnxImport, BadFilesAndUnknownOps) {
  fs::path junk = temp("junk.onnx");
  std::ofstream(junk) << "not protobuf at all";
  try {
    interchange::import_onnx(junk.string(), {});
    FAIL();
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("is not an ONNX model"), std::string::npos) << e.what();
  }
  // A float export with its Relu replaced by a Sigmoid.
  auto m = runtime::build_module(models::build_model("jsc-tiny"), 1);
  fs::path p = temp("sigmoid.onnx");
  interchange::export_onnx(m, {}, p.string());
  onnx::ModelProto model = read(p);
  for (auto& n : *model.mutable_graph()->mutable_node())
    if (n.op_type() == "Relu") n.set_op_type("Sigmoid");
  std::string bytes;
  model.SerializeToString(&bytes);
  std::ofstream(p, std::ios::binary) << bytes;
  try {
    interchange::import_onnx(p.string(), {});
    FAIL();
  } catch (const GraphError& e) {
    EXPECT_NE(std::string(e.what()).find("an op chop's IR cannot represent (Sigmoid node 'seq_blocks_1')"), std::string::npos)
        << e.what();
  }
  // QONNX is written, not read back.
  auto q = quantized_jsc();
  interchange::ExportOptions o;
  o.format = interchange::ExportFormat::qonnx;
  fs::path qp = temp("q_rt.onnx");
  interchange::export_onnx(q, o, qp.string());
  EXPECT_THROW(interchange::import_onnx(qp.string(), {}), GraphError);
}
