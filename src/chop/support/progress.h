// Progress for long work: a redrawn bar on a terminal, plain log lines otherwise.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace chop {

/// "18/20 [00:11<00:01, 1.58it/s, <postfix>]" like tqdm, on stderr.
/// On a terminal the line is redrawn at most 10 times a second; elsewhere a plain line is
/// written at most every `log_every_s` seconds and at the end.
class ProgressBar {
 public:
  ProgressBar(std::string label, int64_t total, std::string unit = "it", double log_every_s = 5);
  /// Sets the count of finished units and the text shown after the rate.
  void update(int64_t done, const std::string& postfix = "");
  /// Prints a line of its own (above the bar on a terminal).
  void message(const std::string& line);
  /// Draws the final state and ends the line.
  void finish(const std::string& postfix = "");
  double elapsed_s() const;

  /// "00:11", "1:02:03".
  static std::string format_duration(double seconds);

 private:
  void draw(bool final);

  std::string label_, unit_, postfix_;
  int64_t total_, done_ = 0;
  double log_every_s_;
  bool tty_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

/// True when stderr is a terminal.
bool stderr_is_tty();

}  // namespace chop
