// A Graph materialized as a LibTorch module: the one place the IR meets torch::nn.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "chop/ir/graph.h"
#include "chop/quant/tensor_quantizer.h"

namespace chop::runtime {

/// The quantizers of one node's tensors (inactive ones leave float32 alone). Add quantizes both
/// of its inputs with data_in.
struct NodeQuantizers {
  quant::TensorQuantizer data_in, weight, bias;
  bool active() const { return data_in.active() || weight.active() || bias.active(); }
};

/// Per quantized node, what its input looked like (float forward passes): calibration data.
using InputObservations = std::map<std::string, quant::RangeObserver>;

/// Runs a graph. Parameters and buffers are registered under node names
/// ("seq_blocks_2.weight"), so optimizers and checkpoints see them; so are the quantizers'
/// states: a learned step "<node>.<tensor>_scale" (a parameter), a stats input's running range
/// "<node>.data_in_range" (a buffer).
class GraphModuleImpl : public torch::nn::Module {
 public:
  /// Builds the modules of g (shapes must be inferred). Weights come from torch's global
  /// generator: use build_module() for seeded, thread-safe construction.
  explicit GraphModuleImpl(ir::Graph g);

  /// Forward pass on a batch [B, ...input_shape]; returns the output node's value.
  torch::Tensor forward(const torch::Tensor& x);

  /// Forward pass that also returns every node's value (shape checks, statistics). When
  /// node_seconds is given, it receives the wall time of each node (latency per node).
  std::vector<torch::Tensor> forward_all(const torch::Tensor& x,
                                         std::vector<double>* node_seconds = nullptr);

  const ir::Graph& graph() const { return graph_; }
  /// The quantizers of node i (graph order).
  NodeQuantizers& quantizers(size_t i) { return steps_.at(i).q; }

  /// Whether some quantizer's scale is not known yet (stats inputs, learned steps): then
  /// calibrate before training or evaluating.
  bool needs_calibration() const;
  /// Batches calibration wants: the largest calibration_batches of the graph's scalings (0:
  /// none needed).
  int64_t calibration_batches() const;
  /// Float forward passes (eval mode, no quantization) over batches, observing the input of
  /// every node with a stats or learned quantizer (every quantizable node with all_quantizable:
  /// observations of a float model that serve every quantization of it).
  InputObservations observe_inputs(const std::vector<torch::Tensor>& batches, bool all_quantizable = false);
  /// Seeds every quantizer that needs it: inputs from observations (stats: the range; learned:
  /// LSQ's 2 mean|x| / sqrt(Qp)), learned weight steps from the weights.
  void calibrate(const InputObservations& observations);
  /// The scale each quantized tensor uses now, per node and tensor: {"scale": s (a list when
  /// per channel), "frac_width": f when every s is 2^-f, "signed": bool}.
  nlohmann::ordered_json quantization_scales();

  /// Weight sharing (a width supernet): runs as the narrower graph `sub` (same nodes and ops,
  /// every width at most this graph's, e.g. after a channel transform): each Linear / Conv2d
  /// uses the leading [out, in] block of its weight and bias, each batch norm the leading
  /// features of its parameters and running statistics (training updates those in place).
  /// Gradients reach the shared tensors. Float forward only. GraphError when sub is not a
  /// narrowing of this graph or the graph is quantized.
  void set_active_widths(const ir::Graph& sub);
  /// Back to the full widths.
  void clear_active_widths();

  /// Recomputes every batch norm's running statistics (of the active widths) from `batches`,
  /// as PyTorch's cumulative average (momentum None) does: the mean over batches of each
  /// batch's mean and unbiased variance at the norm's input, the network in training mode
  /// (batch statistics), dropout and quantizers off. Other parameters are left alone.
  void recalibrate_batch_norms(const std::vector<torch::Tensor>& batches);

 private:
  struct Step {
    ir::OpKind op;
    std::vector<size_t> inputs;
    bool quantized = false;  ///< some precision of the node is not float32: quantize in forward
    NodeQuantizers q;
    torch::nn::Linear linear{nullptr};
    torch::nn::Conv2d conv{nullptr};
    torch::nn::BatchNorm1d bn1d{nullptr};
    torch::nn::BatchNorm2d bn2d{nullptr};
    torch::nn::Dropout dropout{nullptr};
    int64_t active_in = -1, active_out = -1;  ///< set_active_widths (batch norms: out)
  };
  torch::Tensor batch_norm(Step& s, const ir::Node& n, const torch::Tensor& x);
  torch::Tensor run_step(Step& s, const ir::Node& n, const std::vector<torch::Tensor>& v);

  ir::Graph graph_;
  std::vector<Step> steps_;
  bool float_forward_ = false;  ///< observe_inputs: quantizers off
  double bn_momentum_ = -1;     ///< recalibrate_batch_norms: this batch's momentum; -1: the node's
};
TORCH_MODULE(GraphModule);

/// Rows of a batch whose every node output holds at most `elements` values (at least 1): a batch
/// size by memory for forward passes that need no particular one (scoring, calibration).
int64_t rows_within(const ir::Graph& g, int64_t elements);

/// Builds a module for g with weights drawn from `seed` (same seed, same weights), on device.
GraphModule build_module(const ir::Graph& g, uint64_t seed,
                         torch::Device device = torch::kCPU);

/// A module for g that keeps what `old` learned: tensors with the same name and shape are
/// copied; resized ones (a width transform) start from `seed`'s initialization, or, with
/// inherit_resized, take the overlapping leading slice of the old tensor ([:min(a,b)] in every
/// dimension; for a Linear after Flatten that is the old channels' features). On old's device.
GraphModule rebuild_module(const ir::Graph& g, GraphModuleImpl& old, uint64_t seed,
                           bool inherit_resized);

/// Threads for tensor work: max(n, 1) LibTorch threads, each running OpenBLAS on one thread.
/// OpenBLAS's own pool (one busy-waiting thread per core under every GEMM) oversubscribes the
/// cores: 3x slower training with n > 1, and 1.2-1.8x slower on small models even with n = 1
/// (bench_train jsc 1: 0.46-0.82 M samples/s with the pool, 0.82-1.01 M without).
void set_threads(int64_t n);

/// Process-wide: glibc keeps freed memory (up to 1 GB) instead of returning buffers of 128 KB-32 MB
/// to the kernel at every free, which LibTorch's CPU allocator does for each im2col and
/// activation buffer: the page faults made convolutional training 2x slower (cnn-small on
/// Fashion-MNIST: 1,000 -> 1,900 samples/s). Call once at start-up.
void keep_freed_memory();

/// While alive, with one LibTorch thread, OpenBLAS may use a thread per core: for graphs whose
/// largest matrix product (batch x in x out of a Linear) is big enough for the pool to pay
/// (Fashion-MNIST's 784-256-128-10 MLP: 60,000 -> 68,000+ samples/s on 2 cores). Restores one
/// OpenBLAS thread at the end. Does nothing for small graphs, with several LibTorch threads, or
/// without OpenBLAS. Not for concurrent trainings: OpenBLAS's thread count is process-wide.
class BlasPoolForLargeProducts {
 public:
  BlasPoolForLargeProducts(const ir::Graph& g, int64_t batch_size);
  ~BlasPoolForLargeProducts();
  BlasPoolForLargeProducts(const BlasPoolForLargeProducts&) = delete;
  BlasPoolForLargeProducts& operator=(const BlasPoolForLargeProducts&) = delete;
  bool active() const { return active_; }

 private:
  bool active_ = false;
};

/// The device for --accelerator auto|cpu|gpu|cuda; throws ConfigError when a GPU is asked for
/// and this LibTorch build has no usable CUDA device, or for an unknown name.
torch::Device parse_accelerator(const std::string& name);

}  // namespace chop::runtime
