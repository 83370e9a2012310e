#include "runtime/progress.h"

#include "runtime/dist.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <sstream>

namespace rsnn {

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  char buf[32];
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%.1fs", s);
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%dm%02ds", int(s / 60), int(s) % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%dh%02dm", int(s / 3600), int(s / 60) % 60);
  }
  return buf;
}

ProgressBar::ProgressBar(std::string label, int64_t total, std::string unit, std::ostream* out,
                         double min_interval_s)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      out_(out ? out : &std::cerr),
      min_interval_s_(min_interval_s),
      tty_(out == nullptr && isatty(STDERR_FILENO)),
      start_(std::chrono::steady_clock::now()),
      last_print_(start_ - std::chrono::hours(1)) {}

std::string ProgressBar::line(int64_t done, const std::vector<std::pair<std::string, double>>& values,
                              double elapsed) const {
  std::ostringstream os;
  os << label_ << ' ';
  if (total_ > 0) {
    const int width = 20;
    const double frac = std::min(1.0, double(done) / double(total_));
    const int filled = int(frac * width);
    os << '[' << std::string(filled, '#') << std::string(width - filled, '.') << "] " << done << '/'
       << total_;
  } else {
    os << done;
  }
  const double rate = elapsed > 0 ? done / elapsed : 0;
  os << ' ' << unit_ << " | " << std::setprecision(3) << rate << ' ' << unit_ << "/s";
  for (const auto& [name, v] : values) os << " | " << name << ' ' << std::setprecision(4) << v;
  os << " | " << format_duration(elapsed);
  if (total_ > 0 && done < total_ && rate > 0) os << " ETA " << format_duration((total_ - done) / rate);
  return os.str();
}

void ProgressBar::update(int64_t done, const std::vector<std::pair<std::string, double>>& values) {
  last_done_ = done;
  if (!dist::is_root()) return;  // under mpirun only rank 0 reports
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_print_).count();
  const bool last = total_ > 0 && done >= total_;
  if (!last && since < (tty_ ? 0.1 : min_interval_s_)) return;
  last_print_ = now;
  const std::string text = line(done, values, std::chrono::duration<double>(now - start_).count());
  if (tty_) {
    *out_ << '\r' << text;
    if (text.size() < last_width_) *out_ << std::string(last_width_ - text.size(), ' ');
    last_width_ = text.size();
  } else {
    *out_ << text << '\n';
  }
  out_->flush();
}

void ProgressBar::finish(const std::vector<std::pair<std::string, double>>& values) {
  if (finished_) return;
  finished_ = true;
  if (!dist::is_root()) return;
  const auto now = std::chrono::steady_clock::now();
  const std::string text = line(total_ > 0 ? total_ : last_done_, values,
                                std::chrono::duration<double>(now - start_).count());
  if (tty_) {
    *out_ << '\r' << text << '\n';
  } else {
    *out_ << text << '\n';
  }
  out_->flush();
}

}  // namespace rsnn
