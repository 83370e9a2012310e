// Analyses of the barrel-cortex RSNN (spec barrel-cortex-rsnn.md §4): raster and population
// rates, neuron dynamics (trained time constants, isolated-population firing rates against
// Izhikevich rates), weighted degree distributions, the CV ("NAOI") over an init grid, and
// ANOVA class selectivity. The numbers only: `rsnn barrel analyze` writes them (HDF5 + CSV,
// layouts in docs/barrel.md) and tools/plot_barrel.py draws them.
//
// Indices: the spec numbers the 4,218 cortical neurons 0..4217; in the network (and in a
// spike record [T, B, 4418]) cortical neuron i is neuron kThalamicNeurons + i = 200 + i.
// Every result here is indexed by cortical neuron (thalamus excluded) unless it says so.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "models/barrel/analysis_stats.h"
#include "models/barrel/model.h"
#include "models/barrel/train.h"

namespace rsnn::barrel {

// Called with the number of finished units of work (samples, grid points).
using AnalysisProgress = std::function<void(int64_t done)>;

// ---- data and runs ----

// The samples of a and b in one set (a first): x concatenated on dim 0, labels likewise.
EncodedSet concat_sets(const EncodedSet& a, const EncodedSet& b);
// Positions of the samples with this label, ascending.
std::vector<int64_t> samples_of_class(const EncodedSet& set, int label);
// A deep copy of `m` (projection, parameters, thresholds, stored seed initial states) that
// runs T steps.
std::unique_ptr<BarrelModel> copy_with_steps(const BarrelModel& m, int64_t T);

// Spikes of the cortical neurons over a list of samples.
struct Activity {
  Tensor counts;        // int32 [T, 4218]: spikes summed over the samples
  Tensor raster;        // uint8 [T, 4218] of one sample (when asked; else undefined)
  int64_t samples = 0;
  int64_t spikes = 0;   // all cortical spikes
};
// Runs the samples `index` of `set` through `m` without gradients, in batches of `batch`
// samples (0: all in one batch, as the original; note that the initial state of a sample
// depends on the batch size, as in the original). raster_pos >= 0 keeps the raster of
// sample index[raster_pos]. progress(samples done) after each batch.
Activity record_activity(BarrelModel& m, const EncodedSet& set, const std::vector<int64_t>& index,
                         int64_t batch, int64_t raster_pos, const AnalysisProgress& progress = {});
// Adds the spikes of the cortical neurons of record uint8 [T, B, 4418] into counts int32
// [T, 4218] (summed over the batch).
void accumulate_counts(const Tensor& record, Tensor& counts);

// ---- 1. raster and population rates (§4.1) ----

struct NeuronGroup {
  std::string name;
  int64_t start = 0;   // cortical index
  int64_t length = 0;
  int sign = +1;
};
// L4 E (0..1373), L4 I (1374..1560), L2/3 E (1561..3792), L2/3 I (3793..4217).
std::vector<NeuronGroup> rate_groups();
// activity: uint8 raster or int32 counts [T, N] summed over `samples` samples. Returns
// float64 [G, T / bin]: 100 * (spikes of the group's neurons in the bin) / (group size *
// samples), i.e. Hz when a step is 1 ms. The last T % bin steps are dropped.
Tensor population_rates(const Tensor& activity, const std::vector<NeuronGroup>& groups, int64_t bin,
                        double samples = 1);

struct RasterResult {
  int label = 0;                   // class of the samples
  int64_t sample = 0;              // position of the rastered sample among them
  int64_t samples = 0;
  int64_t bin = 10;
  std::vector<NeuronGroup> groups;
  Tensor raster;                   // uint8 [T, 4218]
  Tensor rates;                    // float64 [4, T / bin] of the rastered sample
  Tensor mean_rates;               // float64 [4, T / bin] over all the samples
  Tensor mean_rate_per_neuron;     // float64 [4218]: spikes per step, all samples
};
RasterResult raster_analysis(const Activity& a, int label, int64_t sample, int64_t bin);

// ---- 2. neuron dynamics (§4.2) ----

// The Izhikevich-model firing rates the original compares with, one per population [13].
const std::vector<double>& izhikevich_rates();

// Each neuron alone (no synapses) under a constant current for T steps from v = 0, s = 0,
// a = a0, with the neuron step of kernels/lif_math.h in float32 (as the model runs).
// tau_m, tau_adp, b_base: per neuron (same length). Returns the spike count of each neuron.
std::vector<int64_t> isolated_spike_counts(const std::vector<double>& tau_m,
                                           const std::vector<double>& tau_adp,
                                           const std::vector<double>& b_base, const LifConfig& lif,
                                           double current, double a0, int64_t T);

struct DynamicsOptions {
  double current = 1.0;
  int64_t T = 550;
  double a0 = -1;            // initial adaptation; < 0: the model's init_b (the spec's 0.04)
  int control_draws = 100;   // control: constant 0.5 + N(0, control_sd) noise, r and p averaged
  double control_sd = 1e-6;
  uint64_t seed = 515;
  int64_t kde_points = 200;
};

struct DynamicsResult {
  std::vector<double> tau_m, tau_adp;           // [4218] trained values
  std::vector<double> tau_m_mean, tau_adp_mean; // [13]
  std::vector<Kde> tau_m_kde, tau_adp_kde;      // [13]
  double tau_m_init = 10, tau_adp_init = 5;
  std::vector<double> rates;                    // [13] spikes / (T * size)
  std::vector<double> rates_norm, izh, izh_norm;  // [13], min-max scaled to [0.1, 1]
  Correlation correlation;                      // rates_norm vs izh_norm
  double control_r = 0, control_p = 0;          // means over the control draws
  DynamicsOptions options;
  double a0 = 0;                                // the initial adaptation used
};
DynamicsResult neuron_dynamics(const BarrelModel& m, const DynamicsOptions& o = {});

// ---- 3. weighted degree distributions (§4.3) ----

struct WeightedDegrees {
  std::vector<double> in;   // per neuron: summed weight of its incoming synapses
  std::vector<double> out;  // per neuron: summed weight of its outgoing synapses
};
// Over neurons [first, first + n) of a projection with per-synapse magnitudes w (float32 or
// float64 [nnz], post-major), counting only synapses with both ends in that range.
WeightedDegrees weighted_degrees(const Projection& p, const Tensor& w, int64_t first, int64_t n);
// The recurrent (cortex -> cortex) degrees of a model, from its raw weights "w" (thalamic
// synapses excluded), indexed by cortical neuron.
WeightedDegrees recurrent_degrees(const BarrelModel& m);

struct DegreeResult {
  WeightedDegrees fresh, trained;
  Histogram fresh_in, fresh_out, trained_in, trained_out;
};
DegreeResult degree_analysis(const BarrelModel& fresh, const BarrelModel& trained, int64_t bins = 1000);

// ---- 4. CV over an init grid (§4.4) ----

// Mean over the cortical neurons of spike_train_cv, per sample of record uint8 [T, B, 4418]:
// float64 [B].
std::vector<double> mean_cv_per_sample(const Tensor& record);

struct CvGridOptions {
  std::vector<double> w{0.01, 0.02, 0.03, 0.04};
  std::vector<double> b{0.01, 0.02, 0.04, 0.06, 0.08, 0.10, 0.20, 0.40, 0.60};
  std::vector<int> classes{0, 1, 1};  // the batch: these classes' samples, concatenated
  int64_t per_class = 0;              // samples taken from each class (0: all)
  int64_t batch = 0;                  // 0: one batch
};
// The spec's full grid: w 0.01..0.04 x b 0.01..0.60 (4 x 60).
CvGridOptions cv_full_grid();

struct CvGridResult {
  std::vector<double> w, b;
  std::vector<double> cv;    // [w.size() * b.size()], w-major: mean CV (neurons, then samples)
  std::vector<double> rate;  // same layout: mean cortical spikes per neuron-step
  int64_t samples = 0, T = 0;
};
// For every (w, b): a fresh untrained model of `base` with init_w = w, init_b = b (same seed,
// so the same projection), run without gradients on the batch.
CvGridResult cv_grid(const BarrelConfig& base, const EncodedSet& set, const CvGridOptions& o,
                     const AnalysisProgress& progress = {});

// ---- 5. ANOVA selectivity (§4.5) ----

struct SelectivityOptions {
  double alpha = 1e-3;   // significant when p < alpha
  double prior = 182;    // class proportion (count_c + prior) / (total + 3 prior)
};

struct SelectivityResult {
  std::vector<double> F, p;                 // [4218] (NaN where not tested)
  std::vector<uint8_t> tested, selective;   // [4218]; untested: the 3 vectors are identical
  std::vector<double> class_spikes;         // [4218, 3] total spikes per class
  std::vector<double> proportions;          // [4218, 3]
  std::vector<double> xy;                   // [4218, 2]: sum_c proportion_c * u_c
  std::vector<int64_t> samples;             // [3] samples per class
  int64_t n_tested = 0, n_selective = 0;
  double fraction = 0;            // selective / 4218
  double fraction_of_tested = 0;  // selective / tested
  SelectivityOptions options;
};
// per_class: the activity of each class (counts int32 [T, N], spikes summed over its samples).
// Per neuron, a one-way ANOVA over the classes with the T time bins as observations.
SelectivityResult selectivity(const std::vector<Activity>& per_class, const SelectivityOptions& o = {});
// The 2-D directions of the classes: helmet (-sqrt3/2, -1/2), box (0, 1), plane (sqrt3/2, -1/2).
const std::vector<std::pair<double, double>>& class_directions();

// ---- files (analysis_io.cpp; HDF5 written atomically, layouts in docs/barrel.md) ----

void write_raster(const std::string& h5_path, const std::string& csv_path, const RasterResult& r);
void write_dynamics(const std::string& h5_path, const std::string& csv_path, const DynamicsResult& r);
void write_degrees(const std::string& h5_path, const std::string& csv_path, const DegreeResult& r);
void write_cv_grid(const std::string& h5_path, const std::string& csv_path, const CvGridResult& r);
// results: (name, result) pairs, each written under /<name> (e.g. "trained", "fresh"); the
// CSV has the columns <name>_F, _p, _selective, _x, _y of each.
void write_selectivity(const std::string& h5_path, const std::string& csv_path,
                       const std::vector<std::pair<std::string, const SelectivityResult*>>& results);

}  // namespace rsnn::barrel
