// rsnn as a C++ library (docs/cpp-library.md): a recurrent adaptive-LIF network built from a
// population table, trained for a few Adam steps through the fused LIF op on the tape to tell
// two input patterns apart, then saved as an HDF5 checkpoint and read back.
//   usage: example_train_lif CHECKPOINT.h5 [STEPS]     (prints the loss of every step)
#include <cstdio>
#include <cstdlib>
#include <string>

#include "autograd/ops.h"
#include "autograd/optim.h"
#include "autograd/recurrent_lif.h"
#include "runtime/hdf5_io.h"
#include "runtime/random.h"

using namespace rsnn;

int main(int argc, char** argv) try {
  RSNN_CHECK(argc == 2 || argc == 3, "usage: example_train_lif CHECKPOINT.h5 [STEPS]");
  char* end = nullptr;
  const long steps = argc == 3 ? std::strtol(argv[2], &end, 10) : 30;
  RSNN_CHECK(argc == 2 || (*end == '\0' && steps >= 1), "STEPS: expected an integer >= 1, got '",
             argv[argc - 1], "'");
  // Population table: names, sizes, signs (Dale), and P(synapse) rows = pre, columns = post.
  ProjectionSpec spec;
  spec.pre = {{"input", "exc", "inh"}, {20, 80, 20}, {+1, +1, -1}};
  spec.post = spec.pre;
  spec.prob = Tensor::from_vector<double>({0, .3, .3, 0, .1, .2, 0, .3, .2}, {3, 3});
  spec.same_network = true;
  spec.seed = 7;
  const Projection proj = build_projection(spec);
  const int64_t N = proj.n_post, T = 40, B = 16, N_in = 20, N_ro = 80, R = 2;

  LifConfig cfg;                   // adaptive LIF, groups updated in order
  cfg.group_offsets = {0, 20, 100, 120};
  cfg.input_offset = 0;            // i_ext drives the input group
  cfg.readout = {{20, N_ro}};      // the excitatory group feeds the readout
  // Task: sample b belongs to class b % 2, which drives half of the input group.
  Tensor i_ext = Tensor::zeros({T, B, N_in}), labels = Tensor::zeros({B}, DType::i64);
  for (int64_t b = 0; b < B; ++b) {
    labels.data<int64_t>()[b] = b % 2;
    for (int64_t t = 0; t < T; ++t)
      for (int64_t i = 10 * (b % 2); i < 10 * (b % 2) + 10; ++i) i_ext.data<float>()[(t * B + b) * N_in + i] = 0.2f;
  }
  Tensor w0 = Tensor::empty({proj.nnz()}), w_ro0 = Tensor::empty({R, N_ro});
  fill_uniform(w0, /*seed=*/7, /*stream=*/1, 0.0, 0.3);
  fill_uniform(w_ro0, 7, 2, -0.1, 0.1);
  ag::RecurrentLifInputs in;
  in.w = ag::Var(w0, true);
  in.tau_m = ag::Var(Tensor::full({N}, 10.0), true);
  in.tau_adp = ag::Var(Tensor::full({N}, 5.0));
  in.i_ext = ag::Var(i_ext);
  in.w_ro = ag::Var(w_ro0, true);
  in.b_base = Tensor::full({N}, 0.04);
  // Synaptic magnitudes stay in [0, 1]: the sign comes from the source population.
  ag::Adam opt({{{in.w}, 1e-2, {}, "rec", ag::clamp_hook(0, 1)}, {{in.tau_m, in.w_ro}, 1e-2}});
  for (long step = 0; step < steps; ++step) {
    opt.zero_grad();
    const ag::RecurrentLifOutputs out = ag::recurrent_lif(proj, cfg, in);
    // Class scores: the readout [T, B, R] averaged over time.
    const ag::Var loss = ag::cross_entropy(ag::scale(ag::sum_leading(out.readout, 2), 1.0 / T), labels);
    ag::backward(loss);
    opt.step();
    std::printf("step %ld loss %.6f spikes %lld\n", step, loss.value().item<float>(),
                static_cast<long long>(out.stats.spikes));
  }
  // Checkpoint: the trained parameters and the step count, readable from h5py.
  H5File f = H5File::create(argv[1]);
  f.write("w", in.w.value());
  f.write("tau_m", in.tau_m.value());
  f.write("w_ro", in.w_ro.value());
  f.set_attr("/", "steps", static_cast<int64_t>(steps));
  f.close();  // the file appears under its name only now (written to a temporary, renamed)
  const H5File g = H5File::open_read(argv[1]);
  RSNN_CHECK(g.read_checked("w", {proj.nnz()}).to_vector<float>() == in.w.value().to_vector<float>(),
             argv[1], ": w differs after reading it back");
  std::printf("checkpoint %s: %lld synapses, %lld steps\n", argv[1],
              static_cast<long long>(proj.nnz()), static_cast<long long>(g.get_attr_int("/", "steps")));
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "example_train_lif: %s\n", e.what());
  return 1;
}
