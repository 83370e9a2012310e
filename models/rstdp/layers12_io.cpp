// HDF5 save/load of layers 1-2 (models/rstdp/layers12.h), validated on load.
#include <cmath>

#include "kernels/spikewave.h"
#include "models/rstdp/layers12.h"
#include "runtime/error.h"
#include "runtime/hdf5_io.h"

namespace rsnn::rstdp {

namespace {

std::string join(const std::string& group, const char* name) {
  return (group.empty() || group.back() == '/') ? group + name : group + "/" + name;
}

std::vector<float> read_weights(const H5File& f, const std::string& ds, const LayerShape& s) {
  const Tensor t = f.read_checked(ds, {s.Cout, s.Cin, s.K, s.K}, DType::f32);
  std::vector<float> w = t.to_vector<float>();
  for (size_t i = 0; i < w.size(); ++i)
    RSNN_CHECK(std::isfinite(w[i]) && w[i] >= 0.0f, f.path(), ": dataset '", ds, "' value ",
               i, " is ", w[i], " (weights must be finite and >= 0)");
  return w;
}

int read_int(const H5File& f, const std::string& g, const char* name, int lo, int hi) {
  RSNN_CHECK(f.has_attr(g, name), f.path(), ": group '", g, "' has no attribute '", name, "'");
  const int64_t v = f.get_attr_int(g, name);
  RSNN_CHECK(v >= lo && v <= hi, f.path(), ": attribute '", g, "/", name, "' is ", v,
             ", expected ", lo, "..", hi);
  return int(v);
}

double read_rate(const H5File& f, const std::string& g, const char* name, bool positive) {
  RSNN_CHECK(f.has_attr(g, name), f.path(), ": group '", g, "' has no attribute '", name, "'");
  const double v = f.get_attr_double(g, name);
  RSNN_CHECK(std::isfinite(v) && (positive ? v >= 0.0 : v <= 0.0), f.path(), ": attribute '",
             g, "/", name, "' is ", v, ", expected a finite ", positive ? "rate >= 0" : "rate <= 0");
  return v;
}

}  // namespace

void save_layers12(H5File& file, const std::string& group, const Layers12& L) {
  RSNN_CHECK(L.w1.size() == size_t(kLayer1.Cout) * kLayer1.Cin * kLayer1.K * kLayer1.K &&
                 L.w2.size() == size_t(kLayer2.Cout) * kLayer2.Cin * kLayer2.K * kLayer2.K,
             file.path(), ": save_layers12: weights have the wrong size");
  file.create_group(group);
  file.write(join(group, "w1"),
             Tensor::from_vector(L.w1, {kLayer1.Cout, kLayer1.Cin, kLayer1.K, kLayer1.K}));
  file.write(join(group, "w2"),
             Tensor::from_vector(L.w2, {kLayer2.Cout, kLayer2.Cin, kLayer2.K, kLayer2.K}));
  file.set_attr(group, "k1", L.k1);
  file.set_attr(group, "r1", L.r1);
  file.set_attr(group, "k2", L.k2);
  file.set_attr(group, "r2", L.r2);
  file.set_attr(group, "a_plus1", L.rates1.a_plus);
  file.set_attr(group, "a_minus1", L.rates1.a_minus);
  file.set_attr(group, "counter1", L.rates1.counter);
  file.set_attr(group, "a_plus2", L.rates2.a_plus);
  file.set_attr(group, "a_minus2", L.rates2.a_minus);
  file.set_attr(group, "counter2", L.rates2.counter);
  file.set_attr(group, "wta_key", std::string(sw::wta_key_name(L.wta_key)));
}

Layers12 load_layers12(const H5File& file, const std::string& group) {
  RSNN_CHECK(file.is_group(group), file.path(), ": group '", group, "' not found");
  Layers12 L;
  L.w1 = read_weights(file, join(group, "w1"), kLayer1);
  L.w2 = read_weights(file, join(group, "w2"), kLayer2);
  L.k1 = read_int(file, group, "k1", 0, kLayer1.Cout);
  L.r1 = read_int(file, group, "r1", 0, 1000);
  L.k2 = read_int(file, group, "k2", 0, kLayer2.Cout);
  L.r2 = read_int(file, group, "r2", 0, 1000);
  L.rates1.a_plus = read_rate(file, group, "a_plus1", true);
  L.rates1.a_minus = read_rate(file, group, "a_minus1", false);
  L.rates1.counter = read_int(file, group, "counter1", 0, 499);
  L.rates2.a_plus = read_rate(file, group, "a_plus2", true);
  L.rates2.a_minus = read_rate(file, group, "a_minus2", false);
  L.rates2.counter = read_int(file, group, "counter2", 0, 499);
  if (file.has_attr(group, "wta_key"))  // older files: trained with the exact order
    L.wta_key = sw::parse_wta_key(file.get_attr_string(group, "wta_key"),
                                  file.path() + ": attribute '" + group + "/wta_key'");
  L.refresh_transposed();
  return L;
}

}  // namespace rsnn::rstdp
