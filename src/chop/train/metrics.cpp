// Classification metrics from a confusion matrix: accuracy, macro/weighted precision, recall, F1.
#include "chop/train/metrics.h"

#include "chop/support/error.h"
#include "chop/train/fused_kernels.h"

namespace chop::train {

nlohmann::ordered_json ClassificationMetrics::to_json(bool with_confusion) const {
  nlohmann::ordered_json j{{"loss", loss},
                           {"accuracy", accuracy},
                           {"precision_macro", precision_macro},
                           {"recall_macro", recall_macro},
                           {"f1_macro", f1_macro},
                           {"precision_weighted", precision_weighted},
                           {"recall_weighted", recall_weighted},
                           {"f1_weighted", f1_weighted},
                           {"n_samples", n_samples}};
  if (with_confusion) j["confusion_matrix"] = confusion;
  return j;
}

ClassificationMetrics metrics_from_confusion(const std::vector<std::vector<int64_t>>& cm,
                                             double mean_loss) {
  ClassificationMetrics m;
  m.loss = mean_loss;
  m.confusion = cm;
  size_t c = cm.size();
  std::vector<int64_t> tp(c), support(c), predicted(c);
  for (size_t t = 0; t < c; ++t) {
    CHOP_ASSERT(cm[t].size() == c, "confusion matrix must be square");
    for (size_t p = 0; p < c; ++p) {
      support[t] += cm[t][p];
      predicted[p] += cm[t][p];
      m.n_samples += cm[t][p];
    }
    tp[t] = cm[t][t];
  }
  if (m.n_samples == 0) return m;
  int64_t correct = 0, n_present = 0;
  for (size_t k = 0; k < c; ++k) {
    correct += tp[k];
    double precision = predicted[k] ? static_cast<double>(tp[k]) / predicted[k] : 0.0;
    double recall = support[k] ? static_cast<double>(tp[k]) / support[k] : 0.0;
    double f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0;
    double weight = static_cast<double>(support[k]) / m.n_samples;
    m.precision_weighted += weight * precision;
    m.recall_weighted += weight * recall;
    m.f1_weighted += weight * f1;
    if (support[k] == 0 && predicted[k] == 0) continue;  // absent class: not in the macro mean
    ++n_present;
    m.precision_macro += precision;
    m.recall_macro += recall;
    m.f1_macro += f1;
  }
  m.accuracy = static_cast<double>(correct) / m.n_samples;
  m.precision_macro /= n_present;
  m.recall_macro /= n_present;
  m.f1_macro /= n_present;
  return m;
}

MetricAccumulator::MetricAccumulator(int64_t n_classes, torch::Device device)
    : n_classes_(n_classes),
      confusion_(torch::zeros({n_classes * n_classes}, torch::dtype(torch::kInt64).device(device))),
      device_loss_sum_(torch::zeros({}, torch::dtype(torch::kFloat64).device(device))) {}

void MetricAccumulator::add(const torch::Tensor& logits, const torch::Tensor& targets) {
  CHOP_ASSERT(logits.dim() == 2 && logits.size(1) == n_classes_ && targets.size(0) == logits.size(0),
              "logits [{}, {}] for {} targets of {} classes", logits.size(0), logits.size(1), targets.size(0), n_classes_);
  if (logits.is_cpu() && logits.scalar_type() == torch::kFloat32 && targets.is_cpu() &&
      targets.scalar_type() == torch::kInt64 && confusion_.is_cpu()) {
    const torch::Tensor z = logits.contiguous(), t = targets.contiguous();
    loss_sum_ += fused_loss_and_confusion(z.data_ptr<float>(), t.data_ptr<int64_t>(), z.size(0), n_classes_,
                                          confusion_.data_ptr<int64_t>());
  } else {
    auto pred = logits.argmax(1);
    confusion_.add_(torch::bincount(targets * n_classes_ + pred, {}, n_classes_ * n_classes_));
    device_loss_sum_.add_(torch::nn::functional::cross_entropy(
                              logits, targets, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                              .to(torch::kFloat64));  // no device sync per batch
  }
  n_ += targets.size(0);
}

ClassificationMetrics MetricAccumulator::compute() const {
  auto cm = confusion_.cpu();
  auto acc = cm.accessor<int64_t, 1>();
  std::vector<std::vector<int64_t>> rows(n_classes_, std::vector<int64_t>(n_classes_));
  for (int64_t t = 0; t < n_classes_; ++t)
    for (int64_t p = 0; p < n_classes_; ++p) rows[t][p] = acc[t * n_classes_ + p];
  const double loss = loss_sum_ + device_loss_sum_.item<double>();
  return metrics_from_confusion(rows, n_ ? loss / static_cast<double>(n_) : 0.0);
}

void MetricAccumulator::reset() {
  confusion_.zero_();
  loss_sum_ = 0;
  device_loss_sum_.zero_();
  n_ = 0;
}

}  // namespace chop::train
