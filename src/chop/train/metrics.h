// Classification metrics from a confusion matrix: accuracy, macro/weighted precision, recall, F1.
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <vector>

namespace chop::train {

struct ClassificationMetrics {
  double loss = 0;  ///< mean cross-entropy
  double accuracy = 0;
  double precision_macro = 0, recall_macro = 0, f1_macro = 0;
  double precision_weighted = 0, recall_weighted = 0, f1_weighted = 0;
  int64_t n_samples = 0;
  std::vector<std::vector<int64_t>> confusion;  ///< [true class][predicted class]

  nlohmann::ordered_json to_json(bool with_confusion = true) const;
};

/// Metrics from a confusion matrix (rows: true class, columns: predicted) and a mean loss.
/// Per class: precision = TP/(TP+FP), recall = TP/(TP+FN), F1 their harmonic mean, each 0 when
/// its denominator is 0. Macro averages over classes that occur in the labels or predictions
/// (as scikit-learn); weighted averages weigh classes by their support.
ClassificationMetrics metrics_from_confusion(const std::vector<std::vector<int64_t>>& confusion,
                                             double mean_loss);

/// Accumulates a confusion matrix and a loss sum on the device; syncs only in compute().
class MetricAccumulator {
 public:
  MetricAccumulator(int64_t n_classes, torch::Device device);
  /// Adds a batch: logits [B, C], targets [B] (int64); its cross-entropy is summed too (one
  /// fused loop for float32 on the CPU).
  void add(const torch::Tensor& logits, const torch::Tensor& targets);
  ClassificationMetrics compute() const;
  void reset();

 private:
  int64_t n_classes_;
  torch::Tensor confusion_;  ///< [C*C] int64
  double loss_sum_ = 0;             ///< float32 CPU batches (the fused loop)
  torch::Tensor device_loss_sum_;   ///< other batches: scalar double on the device
  int64_t n_ = 0;
};

}  // namespace chop::train
