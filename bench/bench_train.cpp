// Training-loop throughput: samples/s of the trainer's step (forward, loss, backward, fused
// Adam) on in-memory data, one thread by default; `load`: seconds to load the real Fashion-MNIST
// into a data module. Usage: bench_train [jsc|fmnist|load] [threads] [float|frac|stats|learned]
// (the last: every Linear quantized, 4-bit weights, 8-bit inputs and biases, in that scaling).
#include <fmt/format.h>

#include <chrono>
#include <iostream>

#include "chop/data/data_module.h"
#include "chop/models/zoo.h"
#include "chop/quant/format.h"
#include "chop/train/trainer.h"

using namespace chop;

int main(int argc, char** argv) {
  std::string which = argc > 1 ? argv[1] : "jsc";
  int threads = argc > 2 ? std::stoi(argv[2]) : 1;
  std::string scaling = argc > 3 ? argv[3] : "float";
  runtime::keep_freed_memory();  // as chop's main() does
  runtime::set_threads(threads);
  if (which == "load") {
    auto start = std::chrono::steady_clock::now();
    data::DataModule dm{data::DataOptions{}};  // fashion-mnist from the Debian package
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cout << fmt::format("{{\"bench\": \"load\", \"dataset\": \"fashion-mnist\", \"train\": {}, "
                             "\"seconds\": {:.3f}}}\n", dm.train().size(), s);
    return 0;
  }
  bool jsc = which == "jsc";
  int64_t n = jsc ? 200000 : 60000;
  data::RawData raw;
  raw.info.name = which;
  raw.info.input_shape = jsc ? std::vector<int64_t>{16} : std::vector<int64_t>{1, 28, 28};
  raw.info.num_classes = jsc ? 5 : 10;
  torch::manual_seed(0);
  std::vector<int64_t> shape{n};
  shape.insert(shape.end(), raw.info.input_shape.begin(), raw.info.input_shape.end());
  raw.train_x = torch::randn(shape);
  raw.train_y = torch::randint(0, raw.info.num_classes, {n}, torch::kInt64);
  data::DataOptions o;
  o.dataset = which;
  o.batch_size = jsc ? 256 : 128;
  o.val_fraction = 0;
  o.normalize = false;
  data::DataModule dm(std::move(raw), o);
  auto g = models::build_model("mlp", models::ModelOptions()
                                          .with_input_shape(dm.info().input_shape)
                                          .with_num_classes(dm.info().num_classes)
                                          .with_hidden(jsc ? std::vector<int64_t>{64, 32, 32}
                                                           : std::vector<int64_t>{256, 128}));
  if (scaling != "float") {
    ir::Scaling sc;
    sc.kind = scaling == "stats" ? ir::Scaling::Kind::Stats
              : scaling == "learned" ? ir::Scaling::Kind::Learned
                                     : ir::Scaling::Kind::Frac;
    auto p = [&](int64_t w) {
      return sc.kind == ir::Scaling::Kind::Frac ? quant::integer_precision(w, w / 2) : quant::scaled_integer_precision(w, sc);
    };
    for (auto& node : g.nodes())
      if (node.op == ir::OpKind::Linear) node.meta.data_in = p(8), node.meta.weight = p(4), node.meta.bias = p(8);
  }
  auto m = runtime::build_module(g, 0);
  train::TrainOptions t;
  t.max_epochs = 1;
  t.progress = false;
  train::train(m, dm, t);  // warm-up
  t.max_epochs = jsc ? 3 : 2;
  auto start = std::chrono::steady_clock::now();
  auto r = train::train(m, dm, t);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  double samples = static_cast<double>(dm.train().size()) * r.epochs.size();
  std::cout << fmt::format(
      "{{\"bench\": \"train\", \"model\": \"{}\", \"scaling\": \"{}\", \"batch_size\": {}, \"threads\": {}, "
      "\"epochs\": {}, \"seconds\": {:.3f}, \"samples_per_s\": {:.0f}}}\n",
      which == "jsc" ? "mlp 16-64-32-32-5" : "mlp 784-256-128-10", scaling, o.batch_size, threads,
      r.epochs.size(), s, samples / s);
}
