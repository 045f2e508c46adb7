// Checkpoints: one file holding the graph (JSON) and every named tensor of its module.
#include "chop/runtime/checkpoint.h"

#include <filesystem>
#include <set>
#include <sstream>

#include "chop/ir/serialize.h"
#include "chop/support/crash_guard.h"
#include "chop/support/error.h"
#include "chop/support/files.h"

namespace chop::runtime {
namespace {

namespace fs = std::filesystem;
const char* kGraphKey = "__chop_graph__";

torch::serialize::InputArchive open_archive(const std::string& path) {
  CHOP_CHECK(fs::exists(path), DataError, "checkpoint '{}' does not exist", path);
  CHOP_CHECK(fs::is_regular_file(path), DataError, "checkpoint '{}' is not a file", path);
  torch::serialize::InputArchive archive;
  try {
    CrashGuard guard(fmt::format("cannot read checkpoint '{}'", path));
    archive.load_from(path);
  } catch (const std::exception&) {  // c10::Error, or the TorchScript parser's ErrorReport
    throw DataError(fmt::format("checkpoint '{}' is not a readable chop checkpoint (corrupt or "
                                "another format)", path));
  }
  return archive;
}

ir::Graph read_graph(torch::serialize::InputArchive& archive, const std::string& path) {
  c10::IValue value;
  CHOP_CHECK(archive.try_read(kGraphKey, value) && value.isString(), DataError,
             "checkpoint '{}' has no graph: not a chop checkpoint", path);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(value.toStringRef());
  } catch (const nlohmann::json::exception& e) {
    throw DataError(fmt::format("checkpoint '{}': its graph is not valid JSON: {}", path, e.what()));
  }
  try {
    return ir::graph_from_json(j);
  } catch (const GraphError& e) {
    throw GraphError(fmt::format("checkpoint '{}': {}", path, e.what()));
  }
}

void copy_tensors(torch::serialize::InputArchive& archive, GraphModule& module,
                  const std::string& path) {
  torch::NoGradGuard no_grad;
  std::set<std::string> expected{kGraphKey};
  auto load = [&](const std::string& name, torch::Tensor& target, bool is_buffer) {
    expected.insert(name);
    torch::Tensor stored;
    CHOP_CHECK(archive.try_read(name, stored, is_buffer), DataError,
               "checkpoint '{}' is missing tensor '{}'", path, name);
    CHOP_CHECK(stored.sizes() == target.sizes(), DataError,
               "checkpoint '{}': tensor '{}' has shape {} but the graph needs {}", path, name,
               ir::shape_str(stored.sizes().vec()), ir::shape_str(target.sizes().vec()));
    target.copy_(stored);
  };
  for (auto& p : module->named_parameters()) load(p.key(), p.value(), false);
  for (auto& b : module->named_buffers()) load(b.key(), b.value(), true);
  for (const auto& key : archive.keys())
    CHOP_CHECK(expected.count(key), DataError,
               "checkpoint '{}' holds tensor '{}', which its graph has no place for", path, key);
}

}  // namespace

void save_checkpoint(const std::string& path, GraphModule& module) {
  torch::serialize::OutputArchive archive;
  archive.write(kGraphKey, c10::IValue(ir::graph_to_json(module->graph()).dump()));
  for (const auto& p : module->named_parameters()) archive.write(p.key(), p.value().detach().cpu());
  for (const auto& b : module->named_buffers()) archive.write(b.key(), b.value().cpu(), true);
  // Serialized in memory, then written whole or not at all: LibTorch's file writer throws from its
  // destructor when the disk fills (std::terminate), and could leave a truncated file.
  std::ostringstream bytes;
  archive.save_to(bytes);
  write_file_atomically(path, bytes.str());
}

ir::Graph load_checkpoint_graph(const std::string& path) {
  auto archive = open_archive(path);
  return read_graph(archive, path);
}

GraphModule load_checkpoint(const std::string& path, torch::Device device) {
  auto archive = open_archive(path);
  GraphModule module = build_module(read_graph(archive, path), 0);
  copy_tensors(archive, module, path);
  module->to(device);
  return module;
}

void load_checkpoint_weights(const std::string& path, GraphModule& module) {
  auto archive = open_archive(path);
  ir::Graph stored = read_graph(archive, path);
  for (const auto& n : module->graph().nodes()) {
    const ir::Node* s = stored.find(n.name);
    CHOP_CHECK(s && s->op == n.op && s->meta.out_shape == n.meta.out_shape, DataError,
               "checkpoint '{}' does not match the model: node '{}' differs or is missing", path,
               n.name);
  }
  copy_tensors(archive, module, path);
}

}  // namespace chop::runtime
