// An importer's nodes and tensors as chop's graph and module.
#include "chop/interchange/imported_graph.h"

#include "chop/support/error.h"

namespace chop::interchange {

ir::Graph ImportedGraph::graph(const std::string& model_name, const ir::Shape& input_shape) const {
  ir::Graph g(model_name, input_shape);
  g.add("x", ir::OpKind::Input, {});
  for (const auto& n : nodes) g.add(n.name, n.op, n.inputs, n.attrs);
  g.add("output", ir::OpKind::Output, {output});
  g.infer_shapes();
  g.lint();
  return g;
}

runtime::GraphModule ImportedGraph::module(const ir::Graph& g, const std::string& path, torch::Device device) const {
  auto m = runtime::build_module(g, 0, device);
  torch::NoGradGuard no_grad;
  size_t used = 0;
  auto copy_into = [&](const std::string& name, torch::Tensor& target) {
    auto it = tensors.find(name);
    if (it == tensors.end()) return;  // e.g. num_batches_tracked, which ONNX does not hold
    CHOP_CHECK(it->second.numel() == target.numel(), DataError, "'{}': tensor '{}' has shape {}, the graph needs {}",
               path, name, c10::str(it->second.sizes()), c10::str(target.sizes()));
    target.copy_(it->second.reshape(target.sizes()).to(target.dtype()));
    ++used;
  };
  for (auto& p : m->named_parameters()) copy_into(p.key(), p.value());
  for (auto& b : m->named_buffers()) copy_into(b.key(), b.value());
  CHOP_ASSERT(used == tensors.size(), "'{}': {} imported tensors have no place in the module", path, tensors.size() - used);
  return m;
}

}  // namespace chop::interchange
