// rsnn: train and simulate biologically constrained recurrent networks.
#include <iostream>

#include "runtime/error.h"
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
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
}

void apply_threads(const RunOptions& opt) { set_num_threads(opt.threads); }

}  // namespace rsnn::cli

int main(int argc, char** argv) {
  CLI::App app{"rsnn: a framework-free engine for biologically constrained recurrent networks"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "rsnn 0.1.0");
  for (auto& add : rsnn::cli::registry()) add(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const rsnn::Error& e) {
    std::cerr << "rsnn: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "rsnn: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
