// The 11 model variants of the MICrONS study (spec §1) and the recurrent initialisations.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "models/microns/distances.h"
#include "models/microns/field.h"
#include "models/microns/regularizers.h"

namespace rsnn::microns {

enum class InitKind { bio, permuted_bio, orthogonal };
enum class DistKind { none, grid, star };
enum class BioSource { corr_sttc, precision_sttc, sttc_only };

struct Variant {
  std::string key;   // "W*D*C", ...
  InitKind init;
  RegKind reg;
  DistKind dist;     // which distance matrix the regularizer uses (none for "W")
};

// The 11 variants in canonical (dictionary) order.
const std::vector<Variant>& variants();
// Lookup by key; throws rsnn::Error listing the valid keys.
const Variant& variant(const std::string& key);

// Spec §1a: W_bio for simulation `sim` (N*N float32, row-major, W[i,j] = i -> j). The
// lognormal draw is keyed by (seed, sim). Computed in double, cast to float at the end.
std::vector<float> bio_weights(const Field& f, BioSource src, uint64_t seed, int sim);
// "corr-sttc", "precision-sttc" or "sttc-only"; anything else is an error naming `what`.
BioSource parse_bio_source(const std::string& s, const char* what);
// The same construction from a given N*N lognormal matrix L (bio_weights draws it).
std::vector<float> bio_weights_from(const Field& f, BioSource src, const std::vector<double>& L);

// Keras Orthogonal(gain 1): QR of an N x N standard normal matrix, q *= sign(diag r).
std::vector<float> orthogonal_weights(int N, uint64_t seed, uint64_t stream);

// A random node permutation (Philox-keyed) and P W P^T: out[i,j] = W[perm[i], perm[j]].
std::vector<int> random_permutation(int N, uint64_t seed, uint64_t stream);
std::vector<float> permute_nodes(const std::vector<float>& W, int N, const std::vector<int>& perm);

// glorot_uniform for a (fan_in, fan_out) kernel: U(+-sqrt(6/(fan_in+fan_out))).
std::vector<float> glorot_uniform(int fan_in, int fan_out, uint64_t seed, uint64_t stream);

// A Philox stream id from a purpose code and up to three indices (sim, variant, task...),
// mixed so that distinct tuples give unrelated streams.
uint64_t stream_key(uint64_t purpose, uint64_t a = 0, uint64_t b = 0, uint64_t c = 0);

// Largest |eigenvalue| of a general N x N row-major matrix (LAPACKE dgeev).
double spectral_radius(const std::vector<double>& A, int N);

}  // namespace rsnn::microns
