// Distance matrices of the MICrONS variants (spec neuro-constrained-rnn.md §4): scipy
// pdist euclidean, distance_power 1, cast to float32, zero diagonal, N*N row-major.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace rsnn::microns {

// Grid positions from np.meshgrid(arange(nx), arange(ny), arange(nz)) (indexing 'xy') then
// ravel: unit k = (iy*nx + ix)*nz + iz sits at (ix, iy, iz). N = nx*ny*nz.
std::vector<float> distance_grid(int nx, int ny, int nz);

// coded = the original's reshape(3,-1) of the N x 3 positions (unit k gets the triple
// flat[k], flat[N+k], flat[2N+k]); intended = the transpose (unit k at its own x, y, z).
// Each coordinate row is min-max normalized to [0,1] before the distances.
enum class StarCoords { coded, intended };
std::vector<float> distance_star(const std::vector<int64_t>& positions_Nx3, int N, StarCoords);
// "coded" or "intended"; anything else is an error naming `what` (a flag or argument).
StarCoords parse_star_coords(const std::string& s, const char* what);

}  // namespace rsnn::microns
