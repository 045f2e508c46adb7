// Progress for long work: a redrawn bar on a terminal, plain log lines otherwise.
#include "chop/support/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace chop {

bool stderr_is_tty() { return ::isatty(STDERR_FILENO) == 1; }

ProgressBar::ProgressBar(std::string label, int64_t total, std::string unit, double log_every_s)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total), log_every_s_(log_every_s),
      tty_(stderr_is_tty()), start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

double ProgressBar::elapsed_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

std::string ProgressBar::format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  auto s = static_cast<int64_t>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60);
  return fmt::format("{:02}:{:02}", s / 60, s % 60);
}

void ProgressBar::update(int64_t done, const std::string& postfix) {
  done_ = done;
  postfix_ = postfix;
  auto now = std::chrono::steady_clock::now();
  double since = std::chrono::duration<double>(now - last_draw_).count();
  if (since < (tty_ ? 0.1 : log_every_s_)) return;
  last_draw_ = now;
  draw(false);
}

void ProgressBar::message(const std::string& line) {
  std::fprintf(stderr, "%s%s\n", tty_ ? "\r\033[K" : "", line.c_str());
  if (tty_) draw(false);
  std::fflush(stderr);
}

void ProgressBar::finish(const std::string& postfix) {
  if (finished_) return;
  if (!postfix.empty()) postfix_ = postfix;
  finished_ = true;
  draw(true);
}

void ProgressBar::draw(bool final) {
  double elapsed = elapsed_s();
  double rate = elapsed > 0 ? done_ / elapsed : 0;
  double eta = rate > 0 ? (total_ - done_) / rate : NAN;
  std::string rate_s = rate >= 1 || rate == 0 ? fmt::format("{:.2f}{}/s", rate, unit_)
                                              : fmt::format("{:.2f}s/{}", 1 / rate, unit_);
  std::string pct = total_ > 0 ? fmt::format("{:3.0f}%", 100.0 * done_ / total_) : "";
  std::string line = fmt::format("{}: {} {}/{} [{}<{}, {}{}{}]", label_, pct, done_, total_,
                                 format_duration(elapsed), format_duration(eta), rate_s,
                                 postfix_.empty() ? "" : ", ", postfix_);
  if (tty_)
    std::fprintf(stderr, "\r\033[K%s%s", line.c_str(), final ? "\n" : "");
  else
    std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
}

}  // namespace chop
