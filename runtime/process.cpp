#include "runtime/process.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <fstream>

extern char** environ;

namespace rsnn {

int spawn_process(const std::vector<std::string>& argv, bool quiet) {
  if (argv.empty()) return -1;
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

int wait_process(int pid) {
  if (pid <= 0) return -1;
  int status = 0;
  if (::waitpid(pid, &status, 0) < 0) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool process_running(int pid) {
  if (pid <= 0) return false;
  int status = 0;
  return ::waitpid(pid, &status, WNOHANG) == 0;
}

int run_process(const std::vector<std::string>& argv, bool quiet) {
  return wait_process(spawn_process(argv, quiet));
}

std::string executable_dir() {
  char buf[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  const std::string p(buf, size_t(n));
  return p.substr(0, p.find_last_of('/'));
}

PythonScript find_python_script(const std::string& name, const char* env_var,
                                const std::string& modules) {
  PythonScript r;
  std::vector<std::string> scripts;
  if (const char* e = std::getenv(env_var)) scripts.push_back(e);
  const std::string d = executable_dir();
  // build folder in the tree, build/tools, beside the program, an install (bin/ and share/rsnn/)
  for (const char* rel : {"/../../tools/", "/../tools/", "/", "/../share/rsnn/"})
    scripts.push_back(d + rel + name);
  scripts.push_back("tools/" + name);
  for (const auto& s : scripts)
    if (std::ifstream(s).good()) {
      r.script = s;
      break;
    }
  if (r.script.empty()) {
    r.why_not = "no PNG plots: tools/" + name + " not found (set " + env_var + ")";
    return r;
  }
  std::vector<std::string> pythons;
  if (const char* e = std::getenv("RSNN_PYTHON")) pythons.push_back(e);
  pythons.push_back("python3");
  pythons.push_back("/usr/bin/python3");
  for (const auto& py : pythons)
    if (run_process({py, "-c", "import " + modules}, true) == 0) {
      r.python = py;
      return r;
    }
  r.why_not = "no PNG plots: python3 with " + modules + " is not available";
  return r;
}

}  // namespace rsnn
