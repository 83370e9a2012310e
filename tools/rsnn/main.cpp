// rsnn: train and simulate biologically constrained recurrent networks.
#include <cmath>
#include <cstdlib>
#include <iostream>

#include "runtime/dist.h"
#include "runtime/error.h"
#include "runtime/resources.h"
#include "runtime/threads.h"
#include "tools/rsnn/command.h"

namespace rsnn::cli {

std::vector<Adder>& registry() {
  static std::vector<Adder> r;
  return r;
}

void add_run_options(CLI::App* cmd, RunOptions& opt) {
  cmd->add_option("--device", opt.device, "auto | cpu | cuda | cuda:N")->capture_default_str();
  cmd->add_option("--threads", opt.threads, "CPU threads (0 = all cores)")
      ->check(non_negative_number())
      ->capture_default_str();
}

bool is_distributed(const std::string& command_path) {
  for (const char* c : {"barrel train", "barrel eval", "rate train", "micron train",
                        "micron sweep", "microcircuit"})
    if (command_path == c) return true;
  return false;
}

void apply_threads(const RunOptions& opt) {
  // The note about a capped thread count comes once, from rank 0.
  set_num_threads(capped_threads(opt.threads, dist::is_root() ? &std::cerr : nullptr));
}

namespace {
// The value as a double, or an error text when it is no number at all.
bool parse_number(const std::string& s, double& v) {
  char* end = nullptr;
  v = std::strtod(s.c_str(), &end);
  return !s.empty() && end && *end == '\0';
}

CLI::Validator number_check(const std::string& name, double lo, bool open) {
  return CLI::Validator(
      [lo, open, name](std::string& s) -> std::string {
        double v = 0;
        if (!parse_number(s, v)) return "'" + s + "' is not a number";
        if (!std::isfinite(v)) return "'" + s + "' is not a finite number";
        if (name.empty()) return "";
        if (open ? !(v > lo) : !(v >= lo)) return "must be " + name + ", got " + s;
        return "";
      },
      name.empty() ? "" : (open ? "> 0" : ">= 0"));
}
}  // namespace

CLI::Validator finite_number() { return number_check("", 0, false); }
CLI::Validator positive_number() { return number_check("> 0", 0, true); }
CLI::Validator non_negative_number() { return number_check(">= 0", 0, false); }

void require_finite_floats(CLI::App& app) {
  for (CLI::Option* o : app.get_options())
    if (o->get_type_name() == "FLOAT") o->check(finite_number());
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) require_finite_floats(*sub);
}

}  // namespace rsnn::cli

namespace {
// Thrown on ranks other than 0 for a command that does not split its work.
struct NotThisRank {};

// The command chosen on the line, e.g. "barrel train".
std::string chosen_command(const CLI::App& app) {
  std::string path;
  for (const CLI::App* c = &app; !c->get_subcommands().empty();) {
    c = c->get_subcommands().front();
    path += (path.empty() ? "" : " ") + c->get_name();
  }
  return path;
}

// Runs before any command callback: under mpirun, a command that does not split its work
// runs on rank 0 only (the others would repeat it and race on its outputs).
void route_ranks(const CLI::App& app) {
  if (rsnn::dist::size() <= 1) return;
  const std::string path = chosen_command(app);
  if (rsnn::cli::is_distributed(path)) return;
  if (!rsnn::dist::is_root()) throw NotThisRank{};
  // One write: under mpirun a line written in pieces can interleave with stdout.
  std::cerr << ("rsnn: " + path + " runs on rank 0 alone while the other ranks wait\n") << std::flush;
}

// Under mpirun one rank's error ends them all: the others may be waiting in a collective.
int fail(const char* what, int code) {
  std::cerr << ("rsnn: error: " + rsnn::dist::rank_prefix() + what + "\n") << std::flush;
  if (rsnn::dist::size() > 1) rsnn::dist::abort(code);
  rsnn::dist::finalize();
  return code;
}
}  // namespace

int main(int argc, char** argv) {
  rsnn::dist::init(&argc, &argv);
  CLI::App app{"rsnn: a framework-free engine for biologically constrained recurrent networks"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "rsnn 0.1.0");
  for (auto& add : rsnn::cli::registry()) add(app);
  rsnn::cli::require_finite_floats(app);
  app.parse_complete_callback([&app] { route_ranks(app); });
  try {
    app.parse(argc, argv);
  } catch (const NotThisRank&) {
    rsnn::dist::finalize();
    return 0;
  } catch (const CLI::ParseError& e) {
    // --help and --version print as CLI11 does; a usage error is one line, as every error.
    if (e.get_exit_code() == 0) {
      rsnn::dist::finalize();
      return rsnn::dist::is_root() ? app.exit(e) : 0;
    }
    return fail((std::string(e.what()) + " (see --help)").c_str(), e.get_exit_code());
  } catch (const std::exception& e) {  // rsnn::Error included
    return fail(e.what(), 1);
  }
  rsnn::dist::finalize();
  return 0;
}
