// Checkpoints, history CSV and the layer-1 feature reconstruction of the R-STDP schedule.
#include <cmath>
#include <cstring>
#include <sstream>

#include "kernels/spikewave.h"
#include "models/rstdp/train.h"
#include "runtime/error.h"
#include "runtime/hdf5_io.h"

namespace rsnn::rstdp {

namespace {

constexpr const char* kFormat = "rsnn-rstdp-checkpoint-1";

Tensor l3_tensor(const Layer3& l3) {
  return Tensor::from_vector(l3.w, {kL3Features, kL3In, kL3K, kL3K});
}

Layer3 read_l3(const H5File& f, const std::string& ds) {
  const Tensor t = f.read_checked(ds, {kL3Features, kL3In, kL3K, kL3K}, DType::f32);
  Layer3 l3;
  l3.w = t.to_vector<float>();
  for (size_t i = 0; i < l3.w.size(); ++i)
    RSNN_CHECK(std::isfinite(l3.w[i]) && l3.w[i] >= 0.125f && l3.w[i] < 2.0f, f.path(),
               ": dataset '", ds, "' value ", i, " is ", l3.w[i], " (expected 0.125 <= w < 2)");
  return l3;
}

int64_t read_int(const H5File& f, const char* name, int64_t lo, int64_t hi) {
  RSNN_CHECK(f.has_attr("/", name), f.path(), ": no attribute '", name, "'");
  const int64_t v = f.get_attr_int("/", name);
  RSNN_CHECK(v >= lo && v <= hi, f.path(), ": attribute '", name, "' is ", v, ", expected ", lo,
             "..", hi);
  return v;
}

}  // namespace

void save_checkpoint(const std::string& path, const TrainConfig& cfg, const TrainState& s) {
  H5File f = H5File::create(path);
  f.set_attr("/", "format", kFormat);
  f.set_attr("/", "seed", static_cast<int64_t>(cfg.seed));
  f.set_attr("/", "train_subset", cfg.train_subset);
  f.set_attr("/", "test_subset", cfg.test_subset);
  f.set_attr("/", "adapt_every", int64_t(cfg.adapt_every));
  f.set_attr("/", "data_dir", cfg.data_dir);
  f.set_attr("/", "wta_key", std::string(sw::wta_key_name(cfg.wta_key)));
  f.set_attr("/", "done1", int64_t(s.done1));
  f.set_attr("/", "done2", int64_t(s.done2));
  f.set_attr("/", "done3", int64_t(s.done3));
  f.set_attr("/", "best_test", s.best_test);
  f.set_attr("/", "best_epoch", int64_t(s.best_epoch));
  f.set_attr("/", "rates", std::vector<double>{s.rates.reward.ltp, s.rates.reward.ltd,
                                               s.rates.punish.ltp, s.rates.punish.ltd});
  save_layers12(f, "layers12", s.l12);
  f.write("layer3/w", l3_tensor(s.l3));
  f.write("best/w", l3_tensor(s.best_l3));
  std::vector<double> h;
  for (const EpochRecord& r : s.history)
    h.insert(h.end(), {double(r.epoch), double(r.layer), r.train_acc, r.test_acc, r.test_silence, r.seconds});
  f.write("history", Tensor::from_vector(h.empty() ? std::vector<double>{} : h,
                                         {int64_t(s.history.size()), 6}));
  f.close();
}

TrainState load_checkpoint(const std::string& path) {
  const H5File f = H5File::open_read(path);
  RSNN_CHECK(f.has_attr("/", "format") && f.get_attr_string("/", "format") == kFormat, path,
             ": not an rsnn R-STDP checkpoint (attribute 'format' is not ", kFormat, ")");
  TrainState s;
  s.done1 = int(read_int(f, "done1", 0, 1 << 20));
  s.done2 = int(read_int(f, "done2", 0, 1 << 20));
  s.done3 = int(read_int(f, "done3", 0, 1 << 24));
  s.best_epoch = int(read_int(f, "best_epoch", -1, 1 << 24));
  s.best_test = f.get_attr_double("/", "best_test");
  RSNN_CHECK(s.best_test >= -1 && s.best_test <= 1, path, ": best_test ", s.best_test, " outside [-1, 1]");
  const std::vector<double> r = f.get_attr_doubles("/", "rates");
  RSNN_CHECK(r.size() == 4, path, ": attribute 'rates' has ", r.size(), " values, expected 4");
  for (double v : r) RSNN_CHECK(std::isfinite(v) && std::fabs(v) < 1, path, ": rate ", v, " is not a finite rate");
  s.rates.reward = {float(r[0]), float(r[1])};
  s.rates.punish = {float(r[2]), float(r[3])};
  s.l12 = load_layers12(f, "layers12");
  s.l3 = read_l3(f, "layer3/w");
  s.best_l3 = read_l3(f, "best/w");
  const Tensor h = f.read_checked("history", {-1, 6}, DType::f64);
  const std::vector<double> hv = h.to_vector<double>();
  for (int64_t i = 0; i < h.size(0); ++i) {
    const double* p = hv.data() + i * 6;
    RSNN_CHECK(p[1] >= 1 && p[1] <= 3 && p[0] >= 0, path, ": history row ", i, " is not an epoch record");
    s.history.push_back({int(p[0]), int(p[1]), p[2], p[3], p[4], p[5]});
  }
  return s;
}

void check_resume(const std::string& path, const TrainConfig& cfg) {
  const H5File f = H5File::open_read(path);
  RSNN_CHECK(f.has_attr("/", "format") && f.get_attr_string("/", "format") == kFormat, path,
             ": not an rsnn R-STDP checkpoint");
  auto same = [&](const char* attr, int64_t want, const char* flag) {
    const int64_t got = f.get_attr_int("/", attr);
    RSNN_CHECK(got == want, path, ": the run was made with ", flag, " ", got, ", now ", want,
               " (use another --out or the same value)");
  };
  same("seed", static_cast<int64_t>(cfg.seed), "--seed");
  same("train_subset", cfg.train_subset, "--train-subset");
  same("test_subset", cfg.test_subset, "--test-subset");
  same("adapt_every", cfg.adapt_every, "--adapt-every");
  // Checkpoints written before the option have no attribute: their runs used exact.
  const std::string key = f.has_attr("/", "wta_key") ? f.get_attr_string("/", "wta_key") : "exact";
  RSNN_CHECK(key == sw::wta_key_name(cfg.wta_key), path, ": the run was made with --wta-key ", key,
             ", now ", sw::wta_key_name(cfg.wta_key), " (use another --out or the same value)");
  const int64_t d1 = f.get_attr_int("/", "done1"), d2 = f.get_attr_int("/", "done2"),
                d3 = f.get_attr_int("/", "done3");
  RSNN_CHECK(d1 <= cfg.epochs1, path, ": layer 1 already has ", d1, " epochs, more than --epochs-l1 ", cfg.epochs1);
  RSNN_CHECK(d2 <= cfg.epochs2, path, ": layer 2 already has ", d2, " epochs, more than --epochs-l2 ", cfg.epochs2);
  RSNN_CHECK(d3 <= cfg.epochs3, path, ": layer 3 already has ", d3, " epochs, more than --epochs-l3 ", cfg.epochs3);
  RSNN_CHECK(d2 == 0 || d1 == cfg.epochs1, path, ": layer 2 was trained after ", d1,
             " layer-1 epochs, now --epochs-l1 ", cfg.epochs1);
  RSNN_CHECK(d3 == 0 || d2 == cfg.epochs2, path, ": layer 3 was trained after ", d2,
             " layer-2 epochs, now --epochs-l2 ", cfg.epochs2);
}

std::vector<float> reconstruct_layer1(const Layers12& L) {
  const std::vector<float> dog = sw::mozafari_dog_bank();  // [6][13][13]
  constexpr int K = 5, D = 13, S = K + D - 1;
  std::vector<float> out(size_t(kLayer1.Cout) * S * S, 0.0f);
  for (int f = 0; f < kLayer1.Cout; ++f)
    for (int c = 0; c < kLayer1.Cin; ++c)
      for (int y = 0; y < K; ++y)
        for (int x = 0; x < K; ++x) {
          const float w = L.w1[((size_t(f) * kLayer1.Cin + c) * K + y) * K + x];
          for (int ky = 0; ky < D; ++ky)
            for (int kx = 0; kx < D; ++kx)
              out[(size_t(f) * S + y + ky) * S + x + kx] += w * dog[(size_t(c) * D + ky) * D + kx];
        }
  return out;
}

std::string history_csv(const std::vector<EpochRecord>& h) {
  std::ostringstream os;
  os << "epoch,layer,train_acc,test_acc,test_silence,seconds\n";
  auto num = [&](double v) {
    if (v >= 0) os << v;
  };
  os.precision(6);
  for (const EpochRecord& r : h) {
    os << r.epoch << ',' << r.layer << ',';
    num(r.train_acc);
    os << ',';
    num(r.test_acc);
    os << ',';
    num(r.test_silence);
    os << ',' << r.seconds << '\n';
  }
  return os.str();
}

}  // namespace rsnn::rstdp
