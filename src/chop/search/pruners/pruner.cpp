// Pruner: the interface of every pruner and the pruner registry.
#include "chop/search/pruners/pruner.h"

#include "chop/search/pruners/median_pruner.h"
#include "chop/search/pruners/successive_halving_pruner.h"
#include "chop/support/error.h"
#include "chop/support/option_reader.h"
#include "chop/support/strings.h"

namespace chop::search {

std::unique_ptr<Pruner> NopPruner::create(const nlohmann::json& options) {
  OptionReader(options, "pruner 'none'").finish();
  return std::make_unique<NopPruner>();
}

const std::vector<PrunerInfo>& pruner_registry() {
  static const std::vector<PrunerInfo> registry = {
#define CHOP_PRUNER(name, Class, description) {#name, description, &Class::create},
#include "chop/search/pruners/pruners.def"
#undef CHOP_PRUNER
  };
  return registry;
}

std::vector<std::string> pruner_names() {
  std::vector<std::string> names;
  for (const auto& info : pruner_registry()) names.push_back(info.name);
  return names;
}

std::unique_ptr<Pruner> make_pruner(const std::string& name, const nlohmann::json& options) {
  for (const auto& info : pruner_registry())
    if (name == info.name) return info.create(options);
  throw ConfigError(unknown_name_message("pruner", name, pruner_names()));
}

}  // namespace chop::search
