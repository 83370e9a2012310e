// The training schedule of the Mozafari et al. (2019) network (spec rstdp-conv-snn.md §3c):
// layer 1: E1 epochs of STDP, layer 2: E2 epochs, layer 3: E3 epochs of R-STDP with
// adaptive rates per batch of 1000 samples, a test after every layer-3 epoch, the best
// kept. Fixed sample order every epoch (the first N images of the training file).
//
// Run folder (--out): checkpoint.h5 (after every epoch, written atomically; training
// resumes from it), c2_cache.h5 (the C2 "ever spiked" maps of every image once layers 1-2
// are frozen, keyed by a hash of their weights), history.csv, layer1_features.npy and the
// PNGs drawn by tools/plot_rstdp.py.
#pragma once
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "kernels/rstdp_layer3.h"
#include "models/rstdp/dataset.h"
#include "models/rstdp/layers12.h"

namespace rsnn::rstdp {

struct TrainConfig {
  std::string data_dir = kDefaultDataDir;
  std::string out_dir;
  int64_t train_subset = 0;  // the first N training images; 0: all
  int64_t test_subset = 0;   // the first N test images; 0: all
  int epochs1 = 2, epochs2 = 4, epochs3 = 680;
  uint64_t seed = 1;
  int batch3 = 32;         // samples per dense product in the layer-3 fast path
  int adapt_every = 1000;  // samples per adaptive-rate batch (SpykeTorch's DataLoader batch)
  sw::WtaKey wta_key = sw::WtaKey::exact;  // k-WTA ranking of layers 1-2 (--wta-key)
  int threads = 0;         // 0: all cores
  bool progress = true;
  bool plots = true;       // run tools/plot_rstdp.py when python3 + matplotlib are found
  std::ostream* log = nullptr;  // progress and messages (nullptr: std::cerr)
};
// Throws naming the flag for any invalid value.
void validate(const TrainConfig& c);

struct EpochRecord {
  int epoch = 0;  // within its layer, from 0
  int layer = 0;  // 1, 2 or 3
  double train_acc = -1, test_acc = -1, test_silence = -1;  // -1: not measured (layers 1-2)
  double seconds = 0;
};

struct TrainState {
  Layers12 l12;
  Layer3 l3, best_l3;
  RStdpRates rates;  // the layer-3 rates in force for the next sample
  int done1 = 0, done2 = 0, done3 = 0;
  double best_test = -1;
  int best_epoch = -1;
  std::vector<EpochRecord> history;
};

// Runs (or resumes) the schedule; returns the final state.
TrainState train_rstdp(const TrainConfig& cfg);

// ---- pieces, exposed for tests and the CLI ----
// Layer 3's input bits from a C2 wave (250 x 8 x 8, padded by 2; checks the padding).
void c2_wave_bits(const Wave& c2, uint64_t* bits);
// The C2 bits of every image of `d` under frozen layers 1-2 (OpenMP over images).
std::vector<uint64_t> c2_bits(const Layers12& L, const Dataset& d);
// One layer-3 R-STDP epoch over n samples in batches of `adapt_every` with adaptive rates;
// returns SpykeTorch's train accuracy (the mean over batches of the correct fraction).
double layer3_epoch(Layer3Fast& fast, RStdpRates& rates, const uint64_t* bits, const int* labels,
                    int64_t n, int adapt_every, std::ostream* progress);

struct TestResult {
  double correct = 0, wrong = 0, silence = 0;  // fractions
  int64_t n = 0;
  std::vector<int64_t> confusion = std::vector<int64_t>(10 * 11, 0);  // [label][decision+1]
};
TestResult test_layer3(const Layer3Fast& fast, const uint64_t* bits, const int* labels, int64_t n,
                       int threads);

// Checkpoint I/O (HDF5; save is atomic).
void save_checkpoint(const std::string& path, const TrainConfig& cfg, const TrainState& s);
TrainState load_checkpoint(const std::string& path);
// Resuming needs the same seed, subsets, batch of adaptation and k-WTA key: throws naming
// the flag.
void check_resume(const std::string& path, const TrainConfig& cfg);

// Layer-1 features in the image plane: each 6x5x5 kernel through the six 13x13 DoG
// kernels, [30][17][17].
std::vector<float> reconstruct_layer1(const Layers12& L);

// history.csv: epoch,layer,train_acc,test_acc,test_silence,seconds (blank when not measured).
std::string history_csv(const std::vector<EpochRecord>& h);

}  // namespace rsnn::rstdp
