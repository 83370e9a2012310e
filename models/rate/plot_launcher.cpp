#include "models/rate/plot_launcher.h"

#include "runtime/process.h"

namespace rsnn::rate {

PlotLauncher::PlotLauncher(bool want) {
  if (!want) {
    why_not_ = "plots disabled (--plot off)";
    return;
  }
  const PythonScript ps = find_python_script("plot_rate.py", "RSNN_PLOT_SCRIPT", "matplotlib, h5py");
  script_ = ps.script;
  python_ = ps.python;
  why_not_ = ps.why_not;
  enabled_ = ps.found();
}

PlotLauncher::~PlotLauncher() { wait_all(); }

bool PlotLauncher::busy() {
  if (process_running(pid_)) return true;
  pid_ = -1;
  return false;
}

void PlotLauncher::wait_all() {
  if (pid_ > 0) wait_process(pid_);
  pid_ = -1;
}

bool PlotLauncher::plot(const std::vector<std::string>& args, bool wait) {
  if (!enabled_) return false;
  if (pid_ > 0) {
    if (!wait && busy()) return false;  // still drawing the previous one
    wait_all();
  }
  std::vector<std::string> argv = {python_, script_};
  argv.insert(argv.end(), args.begin(), args.end());
  pid_ = spawn_process(argv, false);
  if (pid_ < 0) return false;
  if (wait) wait_all();
  return true;
}

}  // namespace rsnn::rate
