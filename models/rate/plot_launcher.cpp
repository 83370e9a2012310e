#include "models/rate/plot_launcher.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <fstream>

extern char** environ;

namespace rsnn::rate {

namespace {
bool exists(const std::string& p) { return std::ifstream(p).good(); }

std::string exe_dir() {
  char buf[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  std::string p(buf, size_t(n));
  return p.substr(0, p.find_last_of('/'));
}

int spawn(const std::vector<std::string>& argv, bool quiet) {
  std::vector<char*> a;
  for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
  a.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (quiet) {
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  }
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, a[0], &fa, nullptr, a.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  return rc == 0 ? int(pid) : -1;
}
int wait_pid(int pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) < 0) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
}  // namespace

PlotLauncher::PlotLauncher(bool want) {
  if (!want) {
    why_not_ = "plots disabled (--plot off)";
    return;
  }
  std::vector<std::string> cands;
  if (const char* e = std::getenv("RSNN_PLOT_SCRIPT")) cands.push_back(e);
  const std::string d = exe_dir();
  for (const char* rel : {"/../../tools/plot_rate.py", "/../tools/plot_rate.py", "/plot_rate.py"})
    cands.push_back(d + rel);
  cands.push_back("tools/plot_rate.py");
  for (const auto& c : cands)
    if (exists(c)) {
      script_ = c;
      break;
    }
  if (script_.empty()) {
    why_not_ = "no PNG plots: tools/plot_rate.py not found (set RSNN_PLOT_SCRIPT)";
    return;
  }
  // The first python3 that has matplotlib and h5py ($RSNN_PYTHON, PATH, the system one).
  std::vector<std::string> pythons;
  if (const char* e = std::getenv("RSNN_PYTHON")) pythons.push_back(e);
  pythons.push_back("python3");
  pythons.push_back("/usr/bin/python3");
  for (const auto& py : pythons) {
    const int pid = spawn({py, "-c", "import matplotlib, h5py"}, true);
    if (pid >= 0 && wait_pid(pid) == 0) {
      python_ = py;
      enabled_ = true;
      return;
    }
  }
  why_not_ = "no PNG plots: python3 with matplotlib and h5py is not available";
}

PlotLauncher::~PlotLauncher() { wait_all(); }

bool PlotLauncher::busy() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == 0) return true;
  pid_ = -1;
  return false;
}

void PlotLauncher::wait_all() {
  if (pid_ > 0) wait_pid(pid_);
  pid_ = -1;
}

bool PlotLauncher::plot(const std::vector<std::string>& args, bool wait) {
  if (!enabled_) return false;
  if (pid_ > 0) {
    int status = 0;
    const int r = ::waitpid(pid_, &status, wait ? 0 : WNOHANG);
    if (r == 0) return false;  // still drawing the previous one
    pid_ = -1;
  }
  std::vector<std::string> argv = {python_, script_};
  argv.insert(argv.end(), args.begin(), args.end());
  pid_ = spawn(argv, false);
  if (pid_ < 0) return false;
  if (wait) wait_all();
  return true;
}

}  // namespace rsnn::rate
