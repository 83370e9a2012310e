// A one-line progress report for long loops: step count, rate, ETA and named values
// (loss, accuracy, ...). On a terminal the line redraws in place; otherwise (logs, CI) a
// full line is printed at most every `min_interval_s` seconds and at the end.
#pragma once
#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <utility>
#include <vector>

namespace rsnn {

class ProgressBar {
 public:
  // total: number of steps (0 = unknown); unit: what a step is ("batch", "trial").
  ProgressBar(std::string label, int64_t total, std::string unit = "it",
              std::ostream* out = nullptr, double min_interval_s = 2.0);
  // Set the count of completed steps and the values to show.
  void update(int64_t done, const std::vector<std::pair<std::string, double>>& values = {});
  void finish(const std::vector<std::pair<std::string, double>>& values = {});
  // The text of the line as it would be printed now (for tests).
  std::string line(int64_t done, const std::vector<std::pair<std::string, double>>& values,
                   double elapsed_s) const;

 private:
  std::string label_, unit_;
  int64_t total_;
  std::ostream* out_;
  double min_interval_s_;
  bool tty_;
  bool finished_ = false;
  int64_t last_done_ = 0;
  std::chrono::steady_clock::time_point start_, last_print_;
  size_t last_width_ = 0;
};

// "1h02m", "3m05s", "12.3s"
std::string format_duration(double seconds);

}  // namespace rsnn
