// `rsnn info`: what this build and machine offer.
#include <iostream>

#include "runtime/device.h"
#include "runtime/threads.h"
#include "tools/rsnn/command.h"

namespace rsnn::cli {
namespace {

Register reg([](CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "Show the build, the CPU threads and the usable devices");
  cmd->callback([] {
    std::cout << "rsnn 0.1.0\n"
              << "CUDA backend compiled: " << (cuda_compiled() ? "yes" : "no") << "\n"
              << "CUDA status: " << cuda_status() << "\n"
              << "CPU threads: " << num_threads() << " (hardware: " << hardware_threads() << ")\n"
              << "device 'auto' resolves to: " << parse_device("auto").str() << "\n";
  });
});

}  // namespace
}  // namespace rsnn::cli
