// Passes that run the module: profile_statistics and latency (the torch part of chop_passes).
#include "chop/passes/measure.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "chop/data/data_module.h"
#include "chop/quant/observer.h"
#include "chop/runtime/module.h"
#include "chop/support/error.h"
#include "chop/support/table.h"

namespace chop::passes {
namespace {

torch::Tensor noise_batch(const ir::Graph& g, int64_t batch_size, uint64_t seed, int64_t index) {
  std::vector<int64_t> shape{batch_size};
  shape.insert(shape.end(), g.input_shape().begin(), g.input_shape().end());
  auto gen = at::detail::createCPUGenerator(seed * 1000003 + static_cast<uint64_t>(index));
  return torch::randn(shape, gen);
}

nlohmann::json stats_json(const quant::RangeObserver& o, double p_low, double p_high) {
  auto [lo, hi] = o.quantiles(p_low / 100, p_high / 100);
  return {{"min", o.min()},
          {"max", o.max()},
          {"mean", o.mean()},
          {"variance", o.variance()},
          {"abs_max", o.range(1, /*is_signed=*/true)},
          {"percentile_range", {lo, hi}},
          {"count", o.count()}};
}

data::SplitKind parse_split(const std::string& s) {
  if (s == "val") return data::SplitKind::val;
  if (s == "test") return data::SplitKind::test;
  return data::SplitKind::train;
}

double percentile(std::vector<double> v, double p) {  // nearest rank
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(std::ceil(p / 100 * static_cast<double>(v.size())));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

std::string f3(double v) { return fmt::format("{:.3f}", v); }

}  // namespace

ProfileStatisticsOptions ProfileStatisticsOptions::read(OptionReader& r) {
  ProfileStatisticsOptions o;
  o.num_batches = r.get<int64_t>("num_batches", o.num_batches, "batches to profile");
  o.batch_size = r.get<int64_t>("batch_size", o.batch_size, "size of noise batches (no data set)");
  o.split = r.get<std::string>("split", o.split, "data split to profile", {"train", "val", "test"});
  o.percentile_low = r.get<double>("percentile_low", o.percentile_low, "lower end of the percentile range (%)");
  o.percentile_high = r.get<double>("percentile_high", o.percentile_high, "upper end of the percentile range (%)");
  CHOP_CHECK(o.num_batches > 0 && o.batch_size > 0, ConfigError,
             "{}: num_batches and batch_size must be positive, but got {} and {}", r.owner(),
             o.num_batches, o.batch_size);
  CHOP_CHECK(0 <= o.percentile_low && o.percentile_low <= o.percentile_high && o.percentile_high <= 100,
             ConfigError, "{}: 0 <= percentile_low <= percentile_high <= 100 must hold, but got {} and {}",
             r.owner(), o.percentile_low, o.percentile_high);
  return o;
}

LatencyOptions LatencyOptions::read(OptionReader& r) {
  LatencyOptions o;
  o.warmup = r.get<int64_t>("warmup", o.warmup, "untimed runs first");
  o.n_batches = r.get<int64_t>("n_batches", o.n_batches, "timed runs");
  o.batch_size = r.get<int64_t>("batch_size", o.batch_size, "samples per run");
  CHOP_CHECK(o.warmup >= 0 && o.n_batches > 0 && o.batch_size > 0, ConfigError,
             "{}: warmup >= 0, n_batches > 0 and batch_size > 0 must hold, but got {}, {}, {}",
             r.owner(), o.warmup, o.n_batches, o.batch_size);
  return o;
}

std::shared_ptr<runtime::GraphModuleImpl> module_for(const ir::Graph& g, PassContext& ctx) {
  if (ctx.module && ctx.module->graph() == g) return ctx.module;
  runtime::GraphModule m =
      ctx.module ? runtime::rebuild_module(g, *ctx.module, ctx.seed, ctx.inherit_resized_weights)
                 : runtime::build_module(g, ctx.seed);
  ctx.module = m.ptr();
  return ctx.module;
}

PassResult ProfileStatisticsPass::run(ir::Graph& g, const ProfileStatisticsOptions& o,
                                      PassContext& ctx) const {
  auto module = module_for(g, ctx);
  bool was_training = module->is_training();
  module->eval();
  torch::NoGradGuard no_grad;
  std::vector<quant::RangeObserver> acts(g.size()), weights(g.size());
  torch::Device device = torch::kCPU;
  for (const auto& p : module->parameters()) device = p.device();
  int64_t n_batches = 0;
  auto profile = [&](const torch::Tensor& x) {
    auto values = module->forward_all(x.to(device));
    for (size_t i = 0; i < values.size(); ++i) acts[i].add(values[i]);
    ++n_batches;
  };
  if (ctx.data) {
    for (const auto& batch : ctx.data->batches(parse_split(o.split))) {
      if (n_batches >= o.num_batches) break;
      profile(batch.x);
    }
  } else {
    for (int64_t i = 0; i < o.num_batches; ++i) profile(noise_batch(g, o.batch_size, ctx.seed, i));
  }
  module->train(was_training);
  CHOP_CHECK(n_batches > 0, DataError, "profile_statistics: the {} split has no batches", o.split);
  for (const auto& item : module->named_parameters()) {
    std::string key = item.key();
    auto dot = key.find('.');
    if (key.substr(dot + 1) != "weight") continue;
    const ir::Node& n = g.node(key.substr(0, dot));
    if (n.op == ir::OpKind::Linear || n.op == ir::OpKind::Conv2d) weights[g.index_of(n.name)].add(item.value());
  }
  Table t({"node", "tensor", "min", "max", "mean", "variance", fmt::format("p{}..p{}", o.percentile_low, o.percentile_high)});
  PassResult r;
  for (size_t i = 0; i < g.size(); ++i) {
    ir::Node& n = g.nodes()[i];
    if (n.op == ir::OpKind::Output) continue;
    nlohmann::json stats;
    stats["data_out"] = stats_json(acts[i], o.percentile_low, o.percentile_high);
    if (weights[i].count()) stats["weight"] = stats_json(weights[i], o.percentile_low, o.percentile_high);
    n.info["software"]["statistics"] = stats;
    for (const auto& [what, s] : stats.items()) {
      t.add_row({n.name, what, f3(s["min"]), f3(s["max"]), f3(s["mean"]), f3(s["variance"]),
                 f3(s["percentile_range"][0]) + ".." + f3(s["percentile_range"][1])});
      r.info[n.name][what] = s;
    }
  }
  r.report = fmt::format("statistics over {} batch(es) of {}:\n", n_batches,
                         ctx.data ? std::string("the ") + o.split + " split" : std::string("N(0,1) noise")) +
             t.render();
  return r;
}

LatencyResult measure_latency(const ir::Graph& g, PassContext& ctx, const LatencyOptions& o) {
  auto module = module_for(g, ctx);
  bool was_training = module->is_training();
  module->eval();
  torch::NoGradGuard no_grad;
  torch::Device device = torch::kCPU;
  for (const auto& p : module->parameters()) device = p.device();
  auto x = noise_batch(g, o.batch_size, ctx.seed, 0).to(device);
  for (int64_t i = 0; i < o.warmup; ++i) module->forward(x);
  std::vector<double> totals;
  std::vector<std::vector<double>> per_node(g.size());
  std::vector<double> node_seconds;
  for (int64_t i = 0; i < o.n_batches; ++i) {
    auto start = std::chrono::steady_clock::now();
    module->forward_all(x, &node_seconds);
    totals.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    for (size_t k = 0; k < node_seconds.size(); ++k) per_node[k].push_back(node_seconds[k] * 1000);
  }
  module->train(was_training);
  LatencyResult r;
  r.median_ms = percentile(totals, 50);
  r.p90_ms = percentile(totals, 90);
  for (double t : totals) r.mean_ms += t / static_cast<double>(totals.size());
  for (size_t k = 0; k < g.size(); ++k) {
    r.node_names.push_back(g.nodes()[k].name);
    r.node_median_ms.push_back(percentile(per_node[k], 50));
  }
  return r;
}

PassResult LatencyPass::run(ir::Graph& g, const LatencyOptions& o, PassContext& ctx) const {
  LatencyResult l = measure_latency(g, ctx, o);
  Table t({"node", "op", "median ms"});
  PassResult r;
  for (size_t k = 0; k < l.node_names.size(); ++k) {
    ir::OpKind op = g.nodes()[k].op;
    if (op == ir::OpKind::Input || op == ir::OpKind::Output) continue;
    t.add_row({l.node_names[k], ir::op_name(op), f3(l.node_median_ms[k])});
    r.info["nodes"][l.node_names[k]] = l.node_median_ms[k];
  }
  r.info["median_ms"] = l.median_ms;
  r.info["p90_ms"] = l.p90_ms;
  r.info["mean_ms"] = l.mean_ms;
  r.info["batch_size"] = o.batch_size;
  r.report = t.render() + fmt::format("latency per batch of {}: median {} ms, p90 {} ms ({} runs after {} warm-up)\n",
                                      o.batch_size, f3(l.median_ms), f3(l.p90_ms), o.n_batches, o.warmup);
  return r;
}

}  // namespace chop::passes
