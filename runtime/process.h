// Child processes: the plot scripts (tools/plot_*.py) that the commands run with python3.
#pragma once
#include <string>
#include <vector>

namespace rsnn {

// Starts argv[0] (looked up in PATH) with its arguments; quiet sends its stdout and stderr
// to /dev/null. Returns the child's pid, or -1 when it could not be started.
int spawn_process(const std::vector<std::string>& argv, bool quiet);
// Waits for the child; its exit status, or -1 when it did not exit normally.
int wait_process(int pid);
// True while the child is still running (does not block; reaps it when it has ended).
bool process_running(int pid);
// spawn_process + wait_process.
int run_process(const std::vector<std::string>& argv, bool quiet);

// Directory of the running executable (from /proc/self/exe), "." when unknown.
std::string executable_dir();

// A python3 script of tools/ and an interpreter that can import what it needs.
struct PythonScript {
  std::string python;   // interpreter that imports `modules`
  std::string script;   // path of the script
  std::string why_not;  // empty when both were found; else one line saying what is missing
  bool found() const { return why_not.empty(); }
};

// Looks for tools/<name>: $<env_var>, then beside the source tree of the running executable
// (build/tools/rsnn -> tools/<name>), then ./tools/<name>; and for the first of $RSNN_PYTHON,
// python3, /usr/bin/python3 that imports `modules` (e.g. "matplotlib, h5py").
PythonScript find_python_script(const std::string& name, const char* env_var,
                                const std::string& modules);

}  // namespace rsnn
