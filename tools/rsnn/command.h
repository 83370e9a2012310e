// Commands of the `rsnn` program register themselves here, one file per command group:
//   static rsnn::cli::Register reg([](CLI::App& app) { auto* c = app.add_subcommand(...); });
// Library errors (rsnn::Error) thrown from a callback are printed on one line by main().
#pragma once
#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace rsnn::cli {

using Adder = std::function<void(CLI::App&)>;
std::vector<Adder>& registry();

struct Register {
  explicit Register(Adder add) { registry().push_back(std::move(add)); }
};

// Number checks with short messages (CLI11's PositiveNumber and NonNegativeNumber print their
// bounds as 300-digit numbers). Every floating-point option also gets `finite` from main(),
// so "nan" or "inf" is an error naming the flag.
CLI::Validator finite_number();
CLI::Validator positive_number();      // > 0 (and finite)
CLI::Validator non_negative_number();  // >= 0 (and finite)
// Adds finite_number() to every floating-point option of `app` and its subcommands.
void require_finite_floats(CLI::App& app);

// The commands that split their work over `mpirun` ranks (runtime/dist.h), by their path
// ("barrel train"); under mpirun every other command runs on rank 0 alone.
bool is_distributed(const std::string& command_path);

// --device and --threads, shared by every command that computes.
struct RunOptions {
  std::string device = "auto";
  int threads = 0;
};
void add_run_options(CLI::App* cmd, RunOptions& opt);
// Applies --threads.
void apply_threads(const RunOptions& opt);

}  // namespace rsnn::cli
