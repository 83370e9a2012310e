// Anatomy of the barrel-cortex model (spec: shared/spec/barrel-cortex-rsnn.md §1.1-1.3):
// 13 cortical populations of one barrel column (L4 and L2/3, 4,218 neurons) plus the 200
// thalamic (VPM barreloid) neurons, and the cell-type connection-probability tables.
//
// Tables: probability = #connections / (#pre x #post). Rows are the PRESYNAPTIC population,
// columns the POSTSYNAPTIC one. Three tables:
//   thalamic  float64 [13]      P(VPM -> population k), all excitatory
//   exc       float64 [13, 13]  non-zero only in the rows of E populations
//   inh       float64 [13, 13]  non-zero only in the rows of I populations (no overlap with exc)
// The project ships them as CSV in data/barrel/ (Exc_ThtoAll_prob.csv, Exc_AlltoAll_prob.csv,
// Inh_AlltoAll_prob.csv); the original .npy files (13x13, Fortran order) load too, so users can
// swap in their own. Every reader validates and throws rsnn::Error naming the file.
#pragma once
#include <cstdint>
#include <istream>
#include <string>
#include <vector>

#include "kernels/projection.h"
#include "runtime/tensor.h"

namespace rsnn::barrel {

inline constexpr int kPopulations = 13;
inline constexpr int64_t kCorticalNeurons = 4218;
inline constexpr int64_t kThalamicNeurons = 200;
inline constexpr int64_t kNetworkNeurons = kThalamicNeurons + kCorticalNeurons;  // 4418
inline constexpr const char* kThalamusName = "VPM";

struct Population {
  std::string name;   // e.g. "Pyr_SP"
  std::string layer;  // "L4" or "L2/3"
  int sign;           // +1 excitatory, -1 inhibitory
  int64_t size;       // neurons
  int64_t offset;     // first neuron, counted within the 4,218 cortical neurons
};

// The 13 populations in model order (index 0 Pyr_SP ... 12 Inh_NG).
const std::vector<Population>& populations();
std::vector<std::string> population_names();
// Index of a population by name; throws listing the valid names.
int population_index(const std::string& name);

// The 13 cortical populations as a layout (neurons 0..4217).
PopulationLayout cortex_layout();
// The whole network: group 0 = VPM (200 neurons, excitatory), groups 1..13 = the populations,
// so cortical neuron i of the model is network neuron 200 + i.
PopulationLayout network_layout();

enum class TableKind { thalamic, exc, inh };
// "Exc_ThtoAll_prob", "Exc_AlltoAll_prob", "Inh_AlltoAll_prob": the file stem of each table.
const char* table_stem(TableKind kind);

struct ConnectionTables {
  Tensor thalamic;  // float64 [13]
  Tensor exc;       // float64 [13, 13]
  Tensor inh;       // float64 [13, 13]

  Tensor prob() const;  // float64 [13, 13]: exc + inh
  Tensor type() const;  // int32 [13, 13]: +1 where exc > 0, -1 where inh > 0, else 0
};

// One table from CSV. Layout: '#' comment lines and blank lines are skipped; the header row
// is a corner cell (any text, e.g. "pre\post") then the 13 population names in model order;
// then one row per presynaptic population (13 rows named in order; for `thalamic` one row
// named "VPM"), each a name and 13 numbers. Returns float64 [13, 13] or, for thalamic, [13].
Tensor read_table_csv(const std::string& path, TableKind kind);
// One table from .npy (float32/float64, C or Fortran order). exc/inh: shape (13, 13).
// thalamic: (13,), (1, 13), or the original (13, 13) whose row 0 is used and rows 1-12 must
// be zero. Returns the same shapes as read_table_csv.
Tensor read_table_npy(const std::string& path, TableKind kind);
// By extension: ".csv" or ".npy".
Tensor read_table(const std::string& path, TableKind kind);
// Writes a table in the CSV layout above with every float64 digit (%.17g), atomically.
void write_table_csv(const std::string& path, const Tensor& table, TableKind kind,
                     const std::string& comment = "");

// The same from a stream; `where` names the source in messages.
Tensor parse_table_csv(std::istream& in, const std::string& where, TableKind kind);

// Loads <dir>/<stem>.csv for each table, or <stem>.npy where no CSV exists; validates.
ConnectionTables load_tables(const std::string& dir);
// The tables of data/barrel as compiled into the library (tools/CMakeLists.txt embeds the
// CSV text), so the program needs no data files at run time and runs from any directory.
ConnectionTables shipped_tables();
// The tables a model uses when none are named: $RSNN_DATA_DIR/barrel when RSNN_DATA_DIR is
// set, else shipped_tables().
ConnectionTables default_tables();
// The project's data/barrel folder: $RSNN_DATA_DIR/barrel when RSNN_DATA_DIR is set, else
// data/barrel under the working directory, or data/barrel or share/rsnn/barrel (an install)
// under up to four parents of the executable's folder. Throws naming the places tried.
std::string barrel_data_dir();

namespace detail {
// The CSV text of data/barrel/<table_stem(kind)>.csv at build time (a generated source).
const char* shipped_table_csv(TableKind kind);
}  // namespace detail

// Shapes, names already checked by the readers; values finite and in [0, 1]; exc non-zero only
// in E rows, inh only in I rows, never both. `where` names the source in messages.
void validate_tables(const ConnectionTables& t, const std::string& where);

// The 14x14 table of network_layout(): row 0 (VPM) = thalamic, rows/cols 1..13 = exc + inh,
// column 0 zero (nothing projects into the thalamus). float64 [14, 14], rows = presynaptic.
Tensor network_prob(const ConnectionTables& t);
// Spec for build_projection: pre = post = network_layout(), prob = network_prob(t), one
// network (same_network), self-connections allowed (the original samples every (post, pre)
// pair of a population's own block, the diagonal included).
ProjectionSpec network_projection_spec(const ConnectionTables& t, uint64_t seed,
                                       uint64_t stream);

// Expected synapse counts (means of the Bernoulli sampling), spec §1.2.
struct ExpectedCounts {
  Tensor synapses;                 // float64 [14, 14]: p * n_pre * n_post, network groups
  double recurrent_exc = 0;        // from E populations (spec: 1,024,322)
  double recurrent_inh = 0;        // from I populations (spec: 219,146)
  double recurrent_total = 0;      // (spec: 1,243,468)
  double thalamic = 0;             // from VPM (spec: 26,610.45)
  double recurrent_dense_area = 0; // sum of n_pre*n_post over non-zero blocks (13,276,798)
  double thalamic_dense_area = 0;  // 200 x neurons of populations with thalamic input (830,000)
  int thalamic_blocks = 0, exc_blocks = 0, inh_blocks = 0;  // non-zero blocks (11, 33, 80)
  std::vector<double> in_degree_recurrent;  // [13] expected recurrent inputs per neuron
  std::vector<double> in_degree_thalamic;   // [13] expected thalamic inputs per neuron
};
ExpectedCounts expected_counts(const ConnectionTables& t);

}  // namespace rsnn::barrel
