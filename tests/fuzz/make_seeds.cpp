// Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<loader>/) with the
// project's own writers where they exist, kept to a few KB per file: constant or
// zero-filled values compress to almost nothing in the HDF5 files.
// Usage: fuzz_make_seeds tests/fuzz/corpus
#include <zlib.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "autograd/optim.h"
#include "models/barrel/anatomy.h"
#include "models/barrel/train.h"
#include "models/barrel/whisker_data.h"
#include "models/rate/model_file.h"
#include "runtime/hdf5_io.h"
#include "runtime/npy.h"

using namespace rsnn;
namespace fs = std::filesystem;

namespace {

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  RSNN_CHECK(out.good(), path.string(), ": cannot write");
}

// A version 1.0 .npy file with any header dictionary (the writer only makes C-order
// little-endian files; the loader also reads Fortran order and big-endian data).
std::string npy_bytes(const std::string& dict, const std::string& data) {
  std::string header = dict;
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out = "\x93NUMPY";
  out += char(1);
  out += char(0);
  out += char(header.size() & 0xff);
  out += char(header.size() >> 8);
  return out + header + data;
}

void npy_seeds(const fs::path& dir) {
  npy_save((dir / "f32_2x3.npy").string(),
           Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3}));
  npy_save((dir / "i64_scalar.npy").string(), Tensor::from_vector<int64_t>({7}, {}));
  npy_save((dir / "u8_4.npy").string(), Tensor::from_vector<uint8_t>({0, 1, 254, 255}, {4}));
  std::string f8(6 * 8, '\0');
  for (int i = 0; i < 6; ++i) {
    const double v = 0.5 * i;
    std::memcpy(&f8[8 * i], &v, 8);
  }
  write_bytes(dir / "f64_fortran_3x2.npy",
              npy_bytes("{'descr': '<f8', 'fortran_order': True, 'shape': (3, 2), }", f8));
  write_bytes(dir / "i4_bigendian_2.npy",
              npy_bytes("{'descr': '>i4', 'fortran_order': False, 'shape': (2,), }",
                        std::string("\0\0\0\1\xff\xff\xff\xfe", 8)));
  write_bytes(dir / "bool_3.npy",
              npy_bytes("{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }",
                        std::string("\1\0\1", 3)));
}

// IDX: 0 0 type rank, big-endian uint32 dims, big-endian data.
std::string idx_bytes(int type, const std::vector<uint32_t>& dims, const std::string& data) {
  std::string out{char(0), char(0), char(type), char(dims.size())};
  for (uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) out += char((d >> s) & 0xff);
  return out + data;
}

void write_gzip(const fs::path& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  RSNN_CHECK(f != nullptr, path.string(), ": cannot write");
  const int n = gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  RSNN_CHECK(gzclose(f) == Z_OK && n == static_cast<int>(bytes.size()), path.string(), ": gzip failed");
}

void idx_seeds(const fs::path& dir) {
  const std::string images = idx_bytes(0x08, {2, 2, 3}, std::string("\0\1\2\3\4\5\6\7\x08\x09\x0a\xff", 12));
  write_bytes(dir / "u8_2x2x3.idx", images);
  write_gzip(dir / "u8_2x2x3.idx.gz", images);
  write_bytes(dir / "labels_u8_4.idx", idx_bytes(0x08, {4}, std::string("\0\1\2\x09", 4)));
  write_bytes(dir / "i8_3.idx", idx_bytes(0x09, {3}, std::string("\x80\0\x7f", 3)));
  write_bytes(dir / "i16_2.idx", idx_bytes(0x0B, {2}, std::string("\xff\xfe\0\x05", 4)));
  write_bytes(dir / "i32_1.idx", idx_bytes(0x0C, {1}, std::string("\0\0\1\0", 4)));
  write_bytes(dir / "f32_2.idx", idx_bytes(0x0D, {2}, std::string("\x3f\x80\0\0\xc0\0\0\0", 8)));
  write_bytes(dir / "f64_1x1.idx", idx_bytes(0x0E, {1, 1}, std::string("\x3f\xf0\0\0\0\0\0\0", 8)));
}

void whisker_seeds(const fs::path& dir) {
  barrel::WhiskerData one = barrel::WhiskerData::zeros(2);
  one.label.data<int32_t>()[1] = 2;
  float* f = one.force.data<float>();
  f[0] = 1.5f;
  f[100] = -0.25f;
  one.torque.data<float>()[7] = 3.0f;
  barrel::write_whisker_h5((dir / "two_samples.h5").string(), one, {{"made_by", "fuzz_make_seeds"}});
  barrel::write_whisker_h5((dir / "empty.h5").string(), barrel::WhiskerData::zeros(0));
}

// A checkpoint in save_checkpoint's layout, compressed, with zeroed parameters and a
// projection of three synapses (a real one is several MB).
void write_checkpoint(const fs::path& path, const barrel::BarrelConfig& cfg, bool optimizer) {
  barrel::BarrelModel model(cfg);
  const int64_t N = model.neurons();
  Projection p;
  p.n_pre = p.n_post = N;
  p.post_ptr = Tensor::full({N + 1}, 3, DType::i64);
  p.post_ptr.data<int64_t>()[0] = 0;
  p.pre_idx = Tensor::from_vector<int32_t>({1, 5, 4000});
  p.source_sign = model.projection().source_sign;
  H5WriteOptions gz;
  gz.chunked = true;
  gz.gzip = 9;
  H5File f = H5File::create(path.string());
  f.set_attr("/", "format", "rsnn-barrel");
  f.set_attr("/", "version", int64_t(1));
  f.set_attr("/", "form", cfg.form == barrel::InputForm::spiking ? "spiking" : "real");
  f.set_attr("/", "T", cfg.T);
  f.set_attr("/", "init_b", cfg.init_b);
  f.set_attr("/", "init_w", cfg.init_w);
  f.set_attr("/", "tau_m_init", cfg.tau_m_init);
  f.set_attr("/", "tau_adp_init", cfg.tau_adp_init);
  f.set_attr("/", "beta", cfg.beta);
  f.set_attr("/", "order", "gauss_seidel");
  f.set_attr("/", "loss", "seed");
  f.set_attr("/", "seed", static_cast<int64_t>(cfg.seed));
  f.set_attr("/", "epoch", int64_t(2));
  f.set_attr("/", "test_accuracy", 0.5);
  for (const auto& [name, v] : model.named_parameters()) {
    const Tensor& t = v.value();
    f.write("/params/" + name, name == "w" ? Tensor::full({3}, 0.5) : Tensor::zeros(t.shape(), t.dtype()), gz);
  }
  f.write("/b_base", Tensor::full({N}, cfg.init_b), gz);
  f.write("/projection/post_ptr", p.post_ptr, gz);
  f.write("/projection/pre_idx", p.pre_idx, gz);
  f.write("/projection/source_sign", p.source_sign, gz);
  f.create_group("/scheduler");
  f.set_attr("/scheduler", "last_epoch", int64_t(2));
  if (optimizer) {
    detail::build_pre_major(p);
    model.set_projection(p, Tensor::full({3}, 0.5));
    ag::Adam adam(model.param_groups(0.001));
    const ag::AdamState st = adam.state();
    f.create_group("/optimizer");
    f.set_attr("/optimizer", "steps", int64_t(4));
    for (size_t k = 0; k < st.params.size(); ++k) {
      const std::string g = "/optimizer/" + std::to_string(k);
      f.write(g + "/m", st.params[k].m, gz);
      f.write(g + "/v", st.params[k].v, gz);
      f.set_attr(g, "step", int64_t(4));
    }
  }
  f.close();
}

void rate_seeds(const fs::path& dir) {
  rate::TrainConfig cfg;
  cfg.stages = {rate::task_defaults(rate::TaskKind::xor_task)};
  cfg.net.N = 6;
  cfg.net.som_N = 1;
  cfg.net.P_inh = 0.3;
  cfg.max_trials = 2;
  cfg.eval_trials = 2;
  cfg.seed = 4;
  rate::RateModel m = rate::model_from_training(rate::train_rate(cfg), cfg);
  // The per-step recordings are optional and make up most of the bytes.
  m.eval_os = m.x0 = m.r0 = m.u = m.target = m.o = m.x = m.r = Tensor();
  rate::save_rate_model((dir / "xor_n6.h5").string(), m);
  m.scaling_factors = {20, 25};
  m.all_perfs = {0.5, 0.75};
  m.opt_scaling_factor = 25;
  m.losses = {3.0, 2.5};
  rate::save_rate_model((dir / "xor_n6_grid.h5").string(), m);
}

// Table seeds: the first byte picks the kind (0 thalamic, 1 exc, 2 inh) and, with 0x80 set,
// NPY instead of CSV (see fuzz_tables.cpp).
void table_seeds(const fs::path& dir) {
  const barrel::ConnectionTables t = barrel::default_tables();
  const fs::path scratch = dir / "scratch.tmp";
  int kind = 0;
  for (const Tensor* table : {&t.thalamic, &t.exc, &t.inh}) {
    const auto k = static_cast<barrel::TableKind>(kind);
    barrel::write_table_csv(scratch.string() + ".csv", *table, k, "seed");
    npy_save(scratch.string() + ".npy", *table);
    for (const char* ext : {".csv", ".npy"}) {
      std::ifstream in(scratch.string() + ext, std::ios::binary);
      const std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      const char prefix = char(kind | (ext[1] == 'n' ? 0x80 : 0));
      write_bytes(dir / (std::string(barrel::table_stem(k)) + ext), prefix + body);
      fs::remove(scratch.string() + ext);
    }
    ++kind;
  }
}

// MICrONS (see fuzz_microns.cpp): byte 0 even = the rest is the connectome CSV of the
// 4-neuron field "1_2_3", odd = the rest is the INF.md field table.
void microns_seeds(const fs::path& dir) {
  write_bytes(dir / "connectome.csv",
              std::string(1, '\0') + ",0,1,2,3\n0,0,1,0,2\n1,3,0,0,0\n2,0,0,0,1\n3,1,1,1,0\n");
  write_bytes(dir / "connectome_spaces.csv",
              std::string(1, '\0') + " ,0, 1,2,3\r\n0,0,1,0,2\r\n\n1,3,0,0,0\n2,0,0,0,1\n3,1,1,1,0\n");
  write_bytes(dir / "inf.md", "\x01Fields\n\n| Session | Scan | Field | Neurons | Grid |\n"
              "|---|---|---|---|---|\n| 9 | 9 | 9 | 6 | (3, 2, 1) |\n| 1 | 2 | 3 | 4 | (2, 2, 1) |\n");
  write_bytes(dir / "inf_flat.md", "\x01| 1 | 2 | 3 | 4 | (4, 1, 1) |\n");
}

// R-STDP data set (see fuzz_rstdp_dataset.cpp): byte 0 bit 0 = which file the rest replaces
// (0 images, 1 labels), bits 1-2 `first`, bits 3-4 `count` + 1.
void rstdp_seeds(const fs::path& dir) {
  const std::string images = idx_bytes(0x08, {3, 2, 2}, std::string(12, '\x7f'));
  const std::string labels = idx_bytes(0x08, {3}, std::string("\x01\x00\x09", 3));
  write_bytes(dir / "images_all", std::string(1, '\0') + images);
  write_bytes(dir / "labels_all", std::string(1, '\1') + labels);
  write_bytes(dir / "images_first1_count2", std::string(1, char((1 << 1) | (3 << 3))) + images);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  try {
    const fs::path root(argv[1]);
    auto dir = [&](const char* name) {
      fs::create_directories(root / name);
      return root / name;
    };
    npy_seeds(dir("npy"));
    idx_seeds(dir("idx"));
    whisker_seeds(dir("whisker_h5"));
    write_checkpoint(dir("barrel_checkpoint") / "spiking_adam.h5", barrel::BarrelConfig::spiking_default(), true);
    write_checkpoint(dir("barrel_checkpoint") / "real.h5", barrel::BarrelConfig::real_default(), false);
    rate_seeds(dir("rate_model"));
    table_seeds(dir("tables"));
    microns_seeds(dir("microns"));
    rstdp_seeds(dir("rstdp_dataset"));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_make_seeds: %s\n", e.what());
    return 1;
  }
  return 0;
}
