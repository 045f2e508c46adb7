// A TorchScript archive to chop's graph and weights: walk the inlined forward graph, map each
// aten op to an IR op, read weights through the prim::GetAttr paths of the unfrozen module.
#include "chop/interchange/torchscript_import.h"

#include "chop/interchange/imported_graph.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/csrc/jit/frontend/error_report.h>
#include <torch/csrc/jit/passes/constant_propagation.h>
#include <torch/csrc/jit/passes/inliner.h>
#include <torch/script.h>

#include <filesystem>
#include <map>
#include <optional>

#include "chop/support/crash_guard.h"
#include "chop/support/error.h"

namespace chop::interchange {
namespace {

namespace jit = torch::jit;

/// What a TorchScript value is, as far as the import is concerned.
struct Val {
  enum Kind { Tensor, Path, Constant, IntList } kind = Constant;
  explicit Val(Kind k = Constant) : kind(k) {}
  std::string node;           ///< Tensor: the IR node producing it
  int64_t rank = -1;          ///< Tensor: batch dimension included (-1: unknown)
  std::string path;           ///< Path: attribute path from self ("" is self)
  c10::IValue value;          ///< Constant
  std::vector<int64_t> ints;  ///< IntList
};

using Pending = ImportedGraph::Node;

std::string underscored(std::string s) {
  std::replace(s.begin(), s.end(), '.', '_');
  return s;
}

class Importer {
 public:
  Importer(jit::Module module, std::string path) : module_(std::move(module)), path_(std::move(path)) {}

  void run() {
    auto method = module_.find_method("forward");
    CHOP_CHECK(method.has_value(), DataError, "'{}' has no forward method", path_);
    graph_ = method->graph()->copy();
    jit::Inline(*graph_);
    jit::ConstantPropagation(graph_);
    auto inputs = graph_->inputs();
    CHOP_CHECK(inputs.size() == 2, GraphError, "'{}': forward takes {} inputs; chop imports models with one input tensor",
               path_, inputs.size() - 1);
    vals_[inputs[0]] = Val{Val::Path};
    Val x{Val::Tensor};
    x.node = "x";
    vals_[inputs[1]] = x;
    block(graph_->block());
    auto outputs = graph_->outputs();
    CHOP_CHECK(outputs.size() == 1, GraphError, "'{}': forward returns {} values; chop imports models with one output", path_,
               outputs.size());
    const Val& out = get(outputs[0], "the returned value");
    CHOP_CHECK(out.kind == Val::Tensor, GraphError,
               "'{}': forward must return one tensor (a tuple or list of outputs is not supported)", path_);
    imported_.output = out.node;
  }

  /// The input shape the first layer fixes (a Linear or BatchNorm1d on the input).
  std::optional<ir::Shape> fixed_input() const {
    for (const auto& p : imported_.nodes)
      if (!p.inputs.empty() && p.inputs[0] == "x") {
        if (p.op == ir::OpKind::Linear) return ir::Shape{p.attrs.in_features};
        if (p.op == ir::OpKind::BatchNorm1d) return ir::Shape{p.attrs.num_features};
        return std::nullopt;
      }
    return std::nullopt;
  }

  /// The input shape: the options', else the one the first layer fixes, else the default.
  ir::Shape input_shape(const ImportOptions& o) const {
    if (!o.input_shape.empty()) return o.input_shape;
    auto fixed = fixed_input();
    if (!fixed && !o.default_input_shape.empty()) return o.default_input_shape;
    CHOP_CHECK(fixed.has_value(), ConfigError,
               "'{}': the input shape cannot be inferred from the first layer; pass --input-shape "
               "(e.g. 1,28,28) or a --dataset", path_);
    return *fixed;
  }

  const ImportedGraph& imported() const { return imported_; }

 private:
  [[noreturn]] void unsupported(jit::Node* n, const std::string& why) const {
    std::string where;
    try {
      jit::SourceRange range = n->sourceRange();
      if (auto original = range.findSourceRangeThatGenerated()) range = *original;  // the user's Python
      if (auto flc = range.file_line_col())
        where = fmt::format(" at {}:{}", std::get<0>(*flc), std::get<1>(*flc));
    } catch (const c10::Error&) {
      // the archive's debug information (read lazily) is corrupt: no source line then
    }
    std::string module = module_path(n);
    throw GraphError(fmt::format("'{}': {} ({}{}{})", path_, why, n->kind().toQualString(),
                                 module.empty() ? "" : " in module '" + module + "'", where));
  }

  /// The submodule a node's code belongs to ("seq_blocks.2"), from the inlined call stack.
  static std::string module_path(jit::Node* n, std::string* class_name = nullptr) {
    std::string path;
    if (auto cs = n->callstack())
      for (const auto& entry : (*cs)->vec())
        if (const auto& info = std::get<2>(entry)) {
          path += (path.empty() ? "" : ".") + info->instance_name();
          if (class_name && info->class_type()) *class_name = info->class_type()->name()->qualifiedName();
        }
    return path;
  }

  /// torch.fx's name for a node: the module's path for a standard torch.nn module's op, the
  /// function's name for a call in user code ("add", "relu"); repeats get _1, _2 ...
  std::string fx_name(jit::Node* n, const std::string& owner_path, std::string function) {
    std::string cls;
    std::string path = owner_path.empty() ? module_path(n, &cls) : owner_path;
    bool leaf = !owner_path.empty() || cls.find(".torch.nn.modules.") != std::string::npos;
    while (!function.empty() && function.back() == '_') function.pop_back();
    while (!function.empty() && function.front() == '_') function.erase(0, 1);
    std::string base = leaf && !path.empty() ? underscored(path) : function;
    int& count = used_[base];
    std::string name = count == 0 ? base : fmt::format("{}_{}", base, count);
    ++count;
    return name;
  }

  const Val& get(jit::Value* v, const char* what) const {
    auto it = vals_.find(v);
    if (it != vals_.end()) return it->second;
    if (v->node()->kind() == c10::prim::Constant) {
      Val c{Val::Constant};
      c.value = *jit::toIValue(v);
      return vals_[v] = c;
    }
    unsupported(v->node(), fmt::format("{} comes from an op chop does not import", what));
  }

  const Val& tensor(jit::Node* n, size_t i) const {
    const Val& v = get(n->input(i), "an input");
    if (v.kind != Val::Tensor) unsupported(n, fmt::format("input {} is not a tensor chop tracks", i));
    return v;
  }

  c10::IValue constant(jit::Node* n, size_t i) const {
    const Val& v = get(n->input(i), "an argument");
    if (v.kind == Val::Constant && (!v.value.isNone() || n->input(i)->node()->kind() == c10::prim::Constant)) return v.value;
    if (v.kind == Val::IntList) return c10::IValue(v.ints);
    if (v.kind == Val::Path) return attr(v.path);
    unsupported(n, fmt::format("argument {} is computed at run time, not a constant", i));
  }

  int64_t int_arg(jit::Node* n, size_t i) const { return constant(n, i).toInt(); }
  double double_arg(jit::Node* n, size_t i) const { return constant(n, i).toDouble(); }
  bool bool_arg(jit::Node* n, size_t i) const { return constant(n, i).toBool(); }
  std::vector<int64_t> ints_arg(jit::Node* n, size_t i) const {
    c10::IValue v = constant(n, i);
    if (v.isInt()) return {v.toInt()};
    return v.toIntVector();
  }

  /// A square (equal) pair such as kernel [3, 3]; `fallback` for an empty list.
  int64_t square(jit::Node* n, size_t i, const char* what, std::optional<int64_t> fallback = std::nullopt) const {
    auto v = ints_arg(n, i);
    if (v.empty() && fallback) return *fallback;
    if (v.size() == 1) return v[0];
    if (v.size() != 2 || v[0] != v[1]) unsupported(n, fmt::format("a non-square {} [{}]", what, fmt::join(v, ", ")));
    return v[0];
  }

  c10::IValue attr(const std::string& path) const {
    c10::IValue v = module_._ivalue();
    size_t start = 0;
    while (start < path.size()) {
      size_t end = path.find('.', start);
      if (end == std::string::npos) end = path.size();
      v = v.toObject()->getAttr(path.substr(start, end - start));
      start = end + 1;
    }
    return v;
  }

  /// The attribute path of a weight argument ("seq_blocks.2.weight"), empty for None.
  std::string weight_path(jit::Node* n, size_t i) const {
    const Val& v = get(n->input(i), "a weight");
    if (v.kind == Val::Constant && v.value.isNone()) return "";
    if (v.kind != Val::Path) unsupported(n, fmt::format("argument {} is not a module attribute (a computed weight)", i));
    return v.path;
  }

  static std::string owner_of(const std::string& path) {
    size_t dot = path.rfind('.');
    return dot == std::string::npos ? "" : path.substr(0, dot);
  }

  void keep(const std::string& node, const char* name, const std::string& path) {
    if (path.empty()) return;
    c10::IValue v = attr(path);
    if (v.isTensor()) imported_.tensors[node + "." + name] = v.toTensor().detach().clone();
  }

  void add(jit::Node* n, Pending p, int64_t rank) {
    Val out{Val::Tensor};
    out.node = p.name;
    out.rank = rank;
    vals_[n->output(0)] = out;
    imported_.nodes.push_back(std::move(p));
  }

  /// Whether a block (or a block inside it) raises: a shape check's failing branch.
  static bool raises(jit::Block* b) {
    for (jit::Node* n : b->nodes()) {
      if (n->kind() == c10::prim::RaiseException) return true;
      for (jit::Block* inner : n->blocks())
        if (raises(inner)) return true;
    }
    return false;
  }

  void block(jit::Block* b) {
    for (jit::Node* n : b->nodes()) node(n);
  }

  void if_node(jit::Node* n) {
    const Val& cond = get(n->input(0), "a condition");
    std::optional<bool> taken;
    if (cond.kind == Val::Constant && cond.value.isBool()) taken = cond.value.toBool();
    if (cond.kind == Val::Path && attr(cond.path).isBool()) taken = attr(cond.path).toBool();  // self.training
    jit::Block* then_b = n->blocks()[0];
    jit::Block* else_b = n->blocks()[1];
    if (!taken) {  // a check that raises on bad input: the model runs the other branch
      if (raises(then_b) && !raises(else_b)) taken = false;
      else if (raises(else_b) && !raises(then_b)) taken = true;
      else {
        bool tensor_out = false;
        for (jit::Value* o : n->outputs()) tensor_out |= o->type()->kind() == c10::TypeKind::TensorType;
        if (tensor_out) unsupported(n, "data-dependent control flow");
        for (jit::Value* o : n->outputs()) vals_[o] = Val{Val::Constant};  // a default computed at run time
        return;
      }
    }
    jit::Block* chosen = *taken ? then_b : else_b;
    block(chosen);
    for (size_t i = 0; i < n->outputs().size(); ++i) vals_[n->output(i)] = get(chosen->outputs()[i], "a branch result");
  }

  void node(jit::Node* n);

  jit::Module module_;
  std::string path_;
  std::shared_ptr<jit::Graph> graph_;
  mutable std::map<const jit::Value*, Val> vals_;  ///< node-based: references stay valid
  std::map<std::string, int> used_;
  ImportedGraph imported_;
};

void Importer::node(jit::Node* n) {
  const std::string kind = n->kind().toQualString();
  auto is = [&](const char* k) { return kind == k; };
  if (is("prim::Constant")) {
    get(n->output(0), "a constant");
    return;
  }
  if (is("prim::GetAttr")) {
    const Val& parent = get(n->input(0), "a module");
    Val v{Val::Path};
    v.path = (parent.path.empty() ? "" : parent.path + ".") + n->s(c10::attr::name);
    vals_[n->output(0)] = v;
    return;
  }
  if (is("prim::ListConstruct")) {
    Val v{Val::IntList};
    for (jit::Value* in : n->inputs()) {
      const Val& e = get(in, "a list element");
      if (e.kind == Val::Tensor) unsupported(n, "a list of tensors (concatenation is not an op chop has)");
      if (e.kind != Val::Constant || !e.value.isInt()) {
        v = Val{Val::Constant};  // computed at run time: unknown
        break;
      }
      v.ints.push_back(e.value.toInt());
    }
    vals_[n->output(0)] = v;
    return;
  }
  if (is("prim::If")) return if_node(n);
  if (is("prim::RaiseException")) unsupported(n, "the model raises an exception in eval mode");
  if (is("prim::unchecked_cast")) {
    vals_[n->output(0)] = get(n->input(0), "a value");
    return;
  }
  if (is("aten::__is__") || is("aten::__isnot__")) {  // scripted `if self.momentum is None`
    auto is_none = [&](size_t i) {
      const Val& v = get(n->input(i), "a value");
      if (v.kind == Val::Constant) return v.value.isNone();
      if (v.kind == Val::Path) return attr(v.path).isNone();
      return false;  // a tensor
    };
    const Val& a = get(n->input(0), "a value");
    const Val& b = get(n->input(1), "a value");
    bool known = (a.kind == Val::Constant && a.value.isNone()) || (b.kind == Val::Constant && b.value.isNone());
    Val v{Val::Constant};
    if (known) v.value = (is_none(0) == is_none(1)) == is("aten::__is__");
    vals_[n->output(0)] = v;
    return;
  }
  if (is("aten::__not__")) {
    const Val& a = get(n->input(0), "a value");
    Val v{Val::Constant};
    c10::IValue x = a.kind == Val::Path ? attr(a.path) : a.value;
    if (a.kind != Val::Tensor && x.isBool()) v.value = !x.toBool();
    vals_[n->output(0)] = v;
    return;
  }
  // Computations on numbers, lists and shapes (a scripted module's checks and defaults): their
  // values stay unknown (an op needing one as a constant says so). Tensors only flow through
  // the ops mapped below.
  bool tensor_out = false, tensor_in = false;
  for (jit::Value* o : n->outputs()) tensor_out |= o->type()->kind() == c10::TypeKind::TensorType;
  for (jit::Value* in : n->inputs()) tensor_in |= vals_.count(in) && vals_.at(in).kind == Val::Tensor;
  if (!tensor_out && (!tensor_in || is("aten::dim") || is("aten::size") || is("aten::numel"))) {
    for (jit::Value* o : n->outputs()) vals_[o] = Val{Val::Constant};
    return;
  }

  Pending p;
  int64_t rank = -1;
  if (is("aten::linear")) {
    const Val& x = tensor(n, 0);
    std::string w = weight_path(n, 1), b = weight_path(n, 2);
    torch::Tensor weight = attr(w).toTensor();
    p = {fx_name(n, owner_of(w), "linear"), ir::OpKind::Linear, {x.node}, {}};
    p.attrs.in_features = weight.size(1);
    p.attrs.out_features = weight.size(0);
    p.attrs.bias = !b.empty();
    keep(p.name, "weight", w);
    keep(p.name, "bias", b);
    rank = x.rank;
  } else if (is("aten::_convolution") || is("aten::conv2d")) {
    const Val& x = tensor(n, 0);
    std::string w = weight_path(n, 1), b = weight_path(n, 2);
    torch::Tensor weight = attr(w).toTensor();
    if (weight.dim() != 4) unsupported(n, fmt::format("a {}-d convolution (chop has Conv2d)", weight.dim() - 2));
    const bool traced = is("aten::_convolution");
    if (traced && bool_arg(n, 6)) unsupported(n, "a transposed convolution");
    int64_t groups = int_arg(n, traced ? 8 : 6);
    if (groups != 1) unsupported(n, fmt::format("a grouped convolution (groups = {})", groups));
    if (square(n, 5, "dilation") != 1) unsupported(n, "a dilated convolution");
    if (weight.size(2) != weight.size(3)) unsupported(n, "a non-square kernel");
    p = {fx_name(n, owner_of(w), "conv2d"), ir::OpKind::Conv2d, {x.node}, {}};
    p.attrs.in_channels = weight.size(1);
    p.attrs.out_channels = weight.size(0);
    p.attrs.kernel_size = weight.size(2);
    p.attrs.stride = square(n, 3, "stride");
    p.attrs.padding = square(n, 4, "padding");
    p.attrs.bias = !b.empty();
    keep(p.name, "weight", w);
    keep(p.name, "bias", b);
    rank = 4;
  } else if (is("aten::batch_norm")) {
    const Val& x = tensor(n, 0);
    std::string w = weight_path(n, 1), b = weight_path(n, 2), mean = weight_path(n, 3), var = weight_path(n, 4);
    if (w.empty() || b.empty()) unsupported(n, "a batch norm without affine weight and bias");
    if (mean.empty() || var.empty()) unsupported(n, "a batch norm without running statistics");
    std::string cls;
    module_path(n, &cls);
    bool two_d = cls.find("BatchNorm2d") != std::string::npos ||
                 (cls.find("BatchNorm1d") == std::string::npos && x.rank == 4);
    if (cls.find("BatchNorm") == std::string::npos && x.rank != 2 && x.rank != 4)
      unsupported(n, "a batch norm of an input of unknown rank");
    std::string owner = owner_of(w);
    p = {fx_name(n, owner, "batch_norm"), two_d ? ir::OpKind::BatchNorm2d : ir::OpKind::BatchNorm1d, {x.node}, {}};
    p.attrs.num_features = attr(w).toTensor().size(0);
    c10::IValue momentum = constant(n, 6);
    p.attrs.momentum = momentum.isNone() ? 0.1 : momentum.toDouble();
    p.attrs.eps = double_arg(n, 7);
    for (const char* t : {"weight", "bias", "running_mean", "running_var", "num_batches_tracked"})
      keep(p.name, t, owner + "." + t);
    rank = two_d ? 4 : 2;
  } else if (is("aten::relu") || is("aten::relu_")) {
    const Val& x = tensor(n, 0);
    p = {fx_name(n, "", "relu"), ir::OpKind::Relu, {x.node}, {}};
    p.attrs.inplace = is("aten::relu_");
    rank = x.rank;
  } else if (is("aten::max_pool2d")) {
    const Val& x = tensor(n, 0);
    p = {fx_name(n, "", "max_pool2d"), ir::OpKind::MaxPool2d, {x.node}, {}};
    p.attrs.kernel_size = square(n, 1, "kernel");
    p.attrs.stride = square(n, 2, "stride", p.attrs.kernel_size);
    p.attrs.padding = square(n, 3, "padding");
    if (square(n, 4, "dilation") != 1) unsupported(n, "a dilated max pool");
    if (bool_arg(n, 5)) unsupported(n, "ceil_mode = True");
    rank = 4;
  } else if (is("aten::avg_pool2d")) {
    const Val& x = tensor(n, 0);
    p = {fx_name(n, "", "avg_pool2d"), ir::OpKind::AvgPool2d, {x.node}, {}};
    p.attrs.kernel_size = square(n, 1, "kernel");
    p.attrs.stride = square(n, 2, "stride", p.attrs.kernel_size);
    p.attrs.padding = square(n, 3, "padding");
    if (bool_arg(n, 4)) unsupported(n, "ceil_mode = True");
    if (!bool_arg(n, 5)) unsupported(n, "count_include_pad = False");
    if (!constant(n, 6).isNone()) unsupported(n, "divisor_override");
    rank = 4;
  } else if (is("aten::adaptive_avg_pool2d")) {
    const Val& x = tensor(n, 0);
    p = {fx_name(n, "", "adaptive_avg_pool2d"), ir::OpKind::AdaptiveAvgPool2d, {x.node}, {}};
    const Val& size = get(n->input(1), "an output size");
    if (size.kind == Val::Constant && size.value.isNone() && n->input(1)->node()->kind() != c10::prim::Constant) {
      // Scripted: F.adaptive_avg_pool2d computes the list from the module's constant output_size.
      std::string module = module_path(n);
      c10::IValue owner = module.empty() ? c10::IValue() : attr(module);
      auto type = owner.isObject() ? owner.toObject()->type() : nullptr;
      if (!type || !type->hasConstant("output_size")) unsupported(n, "an output size computed at run time");
      c10::IValue os = type->getConstant("output_size");
      std::vector<int64_t> v = os.isInt() ? std::vector<int64_t>{os.toInt()} : os.toIntVector();
      if (v.size() == 2 && v[0] != v[1]) unsupported(n, "a non-square output size");
      p.attrs.output_size = v[0];
    } else {
      p.attrs.output_size = square(n, 1, "output size");
    }
    rank = 4;
  } else if (is("aten::flatten")) {
    const Val& x = tensor(n, 0);
    p = {fx_name(n, "", "flatten"), ir::OpKind::Flatten, {x.node}, {}};
    p.attrs.start_dim = int_arg(n, 1);
    p.attrs.end_dim = int_arg(n, 2);
    if (x.rank > 0) {
      int64_t s = p.attrs.start_dim < 0 ? p.attrs.start_dim + x.rank : p.attrs.start_dim;
      int64_t e = p.attrs.end_dim < 0 ? p.attrs.end_dim + x.rank : p.attrs.end_dim;
      rank = x.rank - (e - s);
    }
  } else if (is("aten::dropout") || is("aten::dropout_") || is("aten::feature_dropout")) {
    const Val& x = tensor(n, 0);
    p = {fx_name(n, "", "dropout"), ir::OpKind::Dropout, {x.node}, {}};
    p.attrs.p = double_arg(n, 1);
    rank = x.rank;
  } else if (is("aten::add") || is("aten::add_")) {
    const Val& a = tensor(n, 0);
    const Val& b = get(n->input(1), "an input");
    if (b.kind != Val::Tensor) unsupported(n, "adding a constant (chop's add takes two tensors)");
    if (n->inputs().size() > 2 && int_arg(n, 2) != 1) unsupported(n, "add with alpha != 1");
    p = {fx_name(n, "", "add"), ir::OpKind::Add, {a.node, b.node}, {}};
    rank = a.rank;
  } else {
    unsupported(n, "an op chop's IR cannot represent");
  }
  add(n, std::move(p), rank);
}

}  // namespace

namespace {

Importer read_archive(const std::string& path) {
  CHOP_CHECK(std::filesystem::exists(path), DataError, "model file '{}' does not exist", path);
  jit::Module m;
  try {
    CrashGuard guard(fmt::format("cannot read model file '{}'", path));
    m = torch::jit::load(path);
  } catch (const jit::ErrorReport&) {
    // The TorchScript code in the archive does not compile. Its what() is not called: it reads the
    // archive's debug information, and when that is corrupt too it throws from a noexcept function.
    throw DataError(fmt::format("'{}' is not a TorchScript archive (torch.jit.trace / torch.jit.script, then .save): "
                                "its code does not compile (a corrupt archive?)", path));
  } catch (const std::exception& e) {  // c10::Error, std::bad_alloc ...
    auto* c10_error = dynamic_cast<const c10::Error*>(&e);
    std::string what = c10_error ? c10_error->what_without_backtrace() : e.what();
    throw DataError(fmt::format("'{}' is not a TorchScript archive (torch.jit.trace / torch.jit.script, then .save): {}",
                                path, what.substr(0, what.find('\n'))));
  }
  m.eval();
  Importer importer(m, path);
  try {
    importer.run();
  } catch (const c10::Error& e) {  // a loadable but corrupt archive (its constants, its debug info)
    std::string what = e.what_without_backtrace();
    throw DataError(fmt::format("'{}': cannot read the TorchScript model (corrupt archive?): {}", path,
                                what.substr(0, what.find('\n'))));
  }
  return importer;
}

}  // namespace

runtime::GraphModule import_torchscript(const std::string& path, const ImportOptions& options,
                                        torch::Device device) {
  Importer importer = read_archive(path);
  std::string name = options.model_name.empty() ? std::filesystem::path(path).stem().string() : options.model_name;
  ir::Graph g = importer.imported().graph(name, importer.input_shape(options));
  return importer.imported().module(g, path, device);
}

}  // namespace chop::interchange
