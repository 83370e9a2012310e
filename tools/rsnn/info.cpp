// `rsnn info`: what this build and machine offer.
#include <iostream>
#include <string>

#include "runtime/device.h"
#include "runtime/threads.h"
#include "tools/rsnn/command.h"

namespace rsnn::cli {
namespace {

Register reg([](CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "Show the build, the CPU threads and the usable devices");
  static bool coretype_only = false;
  cmd->add_flag("--blas-coretype", coretype_only,
                "Print only the OPENBLAS_CORETYPE to set for this CPU (empty when OpenBLAS recognized it)");
  cmd->callback([] {
    const std::string hint = blas_coretype_hint();
    if (coretype_only) {
      std::cout << hint << "\n";
      return;
    }
    std::cout << "rsnn 0.1.0\n"
              << "CUDA backend compiled: " << (cuda_compiled() ? "yes" : "no") << "\n"
              << "CUDA status: " << cuda_status() << "\n"
              << "CPU threads: " << num_threads() << " (hardware: " << hardware_threads() << ")\n"
              << "OpenBLAS kernels: " << blas_core();
    if (!hint.empty())
      std::cout << " (OpenBLAS did not recognize this CPU and runs its generic SSE3 kernels; "
                << "OPENBLAS_CORETYPE=" << hint << " selects the ones for it)";
    std::cout << "\n"
              << "device 'auto' resolves to: " << parse_device("auto").str() << "\n";
  });
});

}  // namespace
}  // namespace rsnn::cli
