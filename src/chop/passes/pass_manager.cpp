// The pass manager and registry (from passes.def).
#include "chop/passes/pass_manager.h"

#include <fmt/format.h>

#include <algorithm>

#include "chop/passes/analysis.h"
#include "chop/passes/channel.h"
#include "chop/passes/measure.h"
#include "chop/passes/quantize.h"
#include "chop/support/error.h"
#include "chop/support/strings.h"

namespace chop::passes {
namespace {

template <typename Options>
std::vector<OptionDoc> docs_of() {
  OptionReader r(nlohmann::ordered_json::object(), "docs");
  Options::read(r);
  return r.docs();
}

const std::vector<std::pair<std::string, std::string>>& aliases() {
  static const std::vector<std::pair<std::string, std::string>> list = {
#define CHOP_PASS_ALIAS(alias, name) {alias, name},
#define CHOP_PASS(Class, name, Options, kind, depends, description)
#include "chop/passes/passes.def"
#undef CHOP_PASS
  };
  return list;
}

// Rethrows the error kinds users cause with `prefix` in front, keeping the kind.
template <typename F>
auto with_prefix(const std::string& prefix, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const ConfigError& e) {
    throw ConfigError(prefix + e.what());
  } catch (const GraphError& e) {
    throw GraphError(prefix + e.what());
  } catch (const DataError& e) {
    throw DataError(prefix + e.what());
  } catch (const SearchError& e) {
    throw SearchError(prefix + e.what());
  }
}

}  // namespace

#define CHOP_PASS(Class, name_, Options, kind, depends, description) \
  const char* Class::name() { return name_; }
#include "chop/passes/passes.def"
#undef CHOP_PASS

const std::vector<PassInfo>& pass_registry() {
  static const std::vector<PassInfo> registry = {
#define CHOP_PASS(Class, name, Options, kind, depends, description) \
  {name, #Options, PassKind::kind, depends, description, &docs_of<Options>},
#include "chop/passes/passes.def"
#undef CHOP_PASS
  };
  return registry;
}

std::vector<std::string> pass_names() {
  std::vector<std::string> names;
  for (const auto& p : pass_registry()) names.push_back(p.name);
  return names;
}

const PassInfo& pass_info(const std::string& name) {
  std::string canonical = name;
  for (const auto& [alias, target] : aliases())
    if (alias == name) canonical = target;
  for (const auto& p : pass_registry())
    if (canonical == p.name) return p;
  std::vector<std::string> known = pass_names();
  for (const auto& a : aliases()) known.push_back(a.first);
  throw ConfigError(unknown_name_message("pass", name, known));
}

const char* pass_kind_name(PassKind kind) {
  switch (kind) {
    case PassKind::Analysis:
      return "analysis";
    case PassKind::Measure:
      return "measure";
    case PassKind::Transform:
      return "transform";
  }
  CHOP_ASSERT(false, "unhandled pass kind {}", static_cast<int>(kind));
}

// ---- PassManager

PassManager::Entry PassManager::make_entry(const std::string& name,
                                           const nlohmann::ordered_json& options,
                                           const std::string& where) {
  return with_prefix(where, [&]() -> Entry {
    const PassInfo& info = pass_info(name);
    std::string canonical = info.name;
    OptionReader r(options, "[passes." + name + "]");
    Entry e;
    e.info = &info;
    e.cache_key = canonical + " " + r.table().dump();
#define CHOP_PASS(Class, name_, Options, kind, depends, description)                  \
  if (canonical == name_) {                                                           \
    Options o = Options::read(r);                                                     \
    r.finish();                                                                       \
    e.run = [o](ir::Graph& g, PassContext& ctx) { return Class{}.run(g, o, ctx); }; \
    return e;                                                                         \
  }
#include "chop/passes/passes.def"
#undef CHOP_PASS
    CHOP_ASSERT(false, "pass {} is registered but not dispatched", canonical);
  });
}

PassManager& PassManager::add(const std::string& name, const nlohmann::ordered_json& options) {
  std::string where = fmt::format("pass {} ({}): ", entries_.size() + 1, name);
  entries_.push_back(make_entry(name, options, where));
  return *this;
}

PassManager PassManager::from_toml(const nlohmann::ordered_json& passes, PassManagerOptions options) {
  CHOP_CHECK(passes.is_object(), ConfigError, "[passes] must be a table of [passes.<name>] tables");
  PassManager pm(options);
  for (const auto& item : passes.items()) {
    CHOP_CHECK(item.value().is_object(), ConfigError,
               "passes.{} must be a table ([passes.{}]), but got {}", item.key(), item.key(),
               item.value().dump());
    pm.add(item.key(), item.value());
  }
  return pm;
}

std::vector<std::string> PassManager::names() const {
  std::vector<std::string> names;
  for (const auto& e : entries_) names.push_back(e.info->name);
  return names;
}

void PassManager::invalidate(unsigned facets) {
  for (auto it = cache_.begin(); it != cache_.end();)
    it = (it->second.depends & facets) ? cache_.erase(it) : std::next(it);
}

PassRecord PassManager::run_entry(const Entry& e, ir::Graph& g, PassContext& ctx,
                                  const std::string& where) {
  PassRecord rec{e.info->name, {}, false};
  bool cacheable = e.info->kind == PassKind::Analysis;
  if (cacheable) {
    auto it = cache_.find(e.cache_key);
    if (it != cache_.end() && it->second.graph == &g) {
      rec.result = it->second.result;
      rec.cached = true;
      return rec;
    }
  }
  rec.result = with_prefix(where, [&] { return e.run(g, ctx); });
  if (rec.result.changed) invalidate(rec.result.changed);
  if (cacheable) cache_[e.cache_key] = {&g, e.info->depends, rec.result};
  if (options_.lint_after_each)
    with_prefix(where + "left an invalid graph: ", [&] { g.lint(); });
  return rec;
}

std::vector<PassRecord> PassManager::run(ir::Graph& g, PassContext& ctx,
                                         const std::function<void(size_t, const PassRecord&)>& on_pass) {
  std::vector<PassRecord> records;
  for (size_t i = 0; i < entries_.size(); ++i) {
    records.push_back(run_entry(entries_[i], g, ctx,
                                fmt::format("pass {} ({}): ", i + 1, entries_[i].info->name)));
    if (on_pass) on_pass(i, records.back());
  }
  return records;
}

PassRecord PassManager::run_pass(ir::Graph& g, PassContext& ctx, const std::string& name,
                                 const nlohmann::ordered_json& options) {
  std::string where = fmt::format("pass ({}): ", name);
  return run_entry(make_entry(name, options, where), g, ctx, where);
}

}  // namespace chop::passes
