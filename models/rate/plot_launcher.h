// Runs tools/plot_rate.py (matplotlib, found by find_python_script of runtime/process.h) in the background to draw PNGs of training progress
// and spiking simulations, when python3 with matplotlib is available.
#pragma once
#include <string>
#include <vector>

namespace rsnn::rate {

class PlotLauncher {
 public:
  // Finds the script ($RSNN_PLOT_SCRIPT, then tools/plot_rate.py beside the source tree of
  // the running executable, then ./tools/plot_rate.py) and checks that python3 can import
  // matplotlib. enabled() says whether plots will be drawn; why_not() says why not.
  explicit PlotLauncher(bool want = true);
  ~PlotLauncher();
  bool enabled() const { return enabled_; }
  const std::string& why_not() const { return why_not_; }
  // Start `python3 plot_rate.py args...` unless the previous plot is still running
  // (then this one is skipped, returns false). wait = true runs it to completion.
  bool plot(const std::vector<std::string>& args, bool wait = false);
  void wait_all();
  // True while the previous plot is still being drawn.
  bool busy();

 private:
  bool enabled_ = false;
  std::string script_, python_, why_not_;
  int pid_ = -1;
};

}  // namespace rsnn::rate
