// The `rsnn barrel` command group, shared by the files that add subcommands to it
// (barrel.cpp: train, eval, deprive; barrel_analyze.cpp: analyze). Registration order across
// files is unspecified, so each asks for the group through this function, which creates it
// on first use.
#pragma once
#include <CLI/CLI.hpp>

namespace rsnn::cli {

CLI::App* barrel_command(CLI::App& app);

}  // namespace rsnn::cli
