// Distance matrices as scipy's pdist(..., 'euclidean') computes them: float64 coordinates,
// float64 distances, then the cast to float32.
#include "models/microns/distances.h"

#include <algorithm>
#include <cmath>

#include "runtime/error.h"

namespace rsnn::microns {
namespace {

// coords: 3 rows of N values (coords[r*N + k] = coordinate r of unit k).
std::vector<float> pairwise(const std::vector<double>& coords, int N) {
  std::vector<float> D(size_t(N) * N, 0.0f);
  for (int i = 0; i < N; ++i)
    for (int j = i + 1; j < N; ++j) {
      double sq = 0.0;
      for (int r = 0; r < 3; ++r) {
        const double d = coords[size_t(r) * N + i] - coords[size_t(r) * N + j];
        sq += d * d;
      }
      const float dist = float(std::sqrt(sq));
      D[size_t(i) * N + j] = dist;
      D[size_t(j) * N + i] = dist;
    }
  return D;
}

}  // namespace

std::vector<float> distance_grid(int nx, int ny, int nz) {
  RSNN_CHECK(nx > 0 && ny > 0 && nz > 0, "distance_grid: grid sizes must be positive, got (", nx,
             ", ", ny, ", ", nz, ")");
  const int N = nx * ny * nz;
  std::vector<double> coords(size_t(3) * N);
  // meshgrid 'xy' gives arrays of shape (ny, nx, nz); ravel walks iy, then ix, then iz.
  for (int iy = 0; iy < ny; ++iy)
    for (int ix = 0; ix < nx; ++ix)
      for (int iz = 0; iz < nz; ++iz) {
        const int k = (iy * nx + ix) * nz + iz;
        coords[k] = ix;
        coords[size_t(N) + k] = iy;
        coords[size_t(2) * N + k] = iz;
      }
  return pairwise(coords, N);
}

std::vector<float> distance_star(const std::vector<int64_t>& positions_Nx3, int N,
                                 StarCoords which) {
  RSNN_CHECK(N > 1, "distance_star: need at least 2 units, got N = ", N);
  RSNN_CHECK(positions_Nx3.size() == size_t(3) * N, "distance_star: positions have ",
             positions_Nx3.size(), " values, expected N*3 = ", size_t(3) * N);
  std::vector<double> coords(size_t(3) * N);
  for (int r = 0; r < 3; ++r)
    for (int k = 0; k < N; ++k) {
      // coded: the original's P.reshape(3, -1) reads the flat (N, 3) buffer as 3 rows of N.
      const size_t src = which == StarCoords::coded ? size_t(r) * N + k : size_t(k) * 3 + r;
      coords[size_t(r) * N + k] = double(positions_Nx3[src]);
    }
  for (int r = 0; r < 3; ++r) {
    double* row = coords.data() + size_t(r) * N;
    const auto [lo, hi] = std::minmax_element(row, row + N);
    const double mn = *lo, range = *hi - *lo;
    RSNN_CHECK(range > 0.0, "distance_star: coordinate row ", r,
               " is constant, so min-max normalization divides by zero");
    for (int k = 0; k < N; ++k) row[k] = (row[k] - mn) / range;
  }
  return pairwise(coords, N);
}

StarCoords parse_star_coords(const std::string& s, const char* what) {
  if (s == "coded") return StarCoords::coded;
  if (s == "intended") return StarCoords::intended;
  RSNN_FAIL(what, ": expected coded or intended, got '", s, "'");
}

}  // namespace rsnn::microns
