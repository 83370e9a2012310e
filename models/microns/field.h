// A MICrONS field folder as published (`<sess>_<scan>_<field>/`), loaded and checked.
//
// Files read (name = the folder's base name, e.g. "6_6_2"):
//   connectome_<name>.csv   header ",0,1,..,N-1", then N rows "i,c0,..,cN-1" (synapse counts)
//   sttc_matrix.npy         (N,N) f8, lower-triangular: symmetrized by copying the strict
//                           lower triangle onto the upper one (spec §1a)
//   corr_matrix.npy         (N,N) f8, symmetric, diagonal 1
//   precision_matrix.npy    (N,N) f8, symmetric
//   positions               plain (N,3) integer NPY, looked up in this order:
//                             positions_<name>_plain.npy, then positions_<name>.npy.
//                           The published positions_<name>.npy is a pickled object array;
//                           it is refused with a hint to run tools/microns_positions_to_npy.py
//                           (which writes positions_<name>_plain.npy beside it or elsewhere).
//   root_ids_/unit_ids_/target_ids_<name>.npy   (N,) integer ids
// The grid (nx,ny,nz) with nx*ny*nz == N comes from INF.md in the parent folder (its field
// table) unless given explicitly.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace rsnn::microns {

struct Grid {
  int nx = 0, ny = 0, nz = 0;
  // -1 when the product overflows int64 (a corrupt field table), so it never equals N.
  int64_t size() const {
    const double d = double(nx) * double(ny) * double(nz);
    return d > 9.0e18 || d < -9.0e18 ? -1 : int64_t(nx) * ny * nz;
  }
};

struct Field {
  std::string name;  // "<sess>_<scan>_<field>"
  std::string dir;
  int N = 0;
  Grid grid;
  std::vector<double> connectome;  // N*N synapse counts (row = pre, col = post)
  std::vector<double> sttc;        // N*N, symmetrized
  std::vector<double> corr;        // N*N
  std::vector<double> precision;   // N*N
  std::vector<int64_t> positions;  // N*3 voxel coordinates [x,y,z]
  std::vector<int64_t> root_ids, unit_ids, target_ids;  // N each
};

struct LoadOptions {
  // Explicit grid; {0,0,0} = look the field up in <dir>/../INF.md.
  Grid grid{};
  // Explicit positions file (plain (N,3) integer NPY); empty = the lookup described above.
  std::string positions_path;
};

// Load and check a field folder. Throws rsnn::Error naming the file and the problem.
Field load_field(const std::string& dir, const LoadOptions& opt = {});

// Parse an INF.md field table and return the grid of field `name` ("6_6_2"). Throws when
// the file is unreadable, the table malformed or the field absent.
Grid grid_from_inf(const std::string& inf_path, const std::string& name);

}  // namespace rsnn::microns
