// Files of the barrel analyses: HDF5 (H5File::create, atomic) and CSV (write_text_atomic).
// The layouts are documented in docs/barrel.md.
#include <cmath>
#include <iomanip>
#include <sstream>

#include "models/barrel/analysis.h"
#include "models/barrel/anatomy.h"
#include "runtime/atomic_file.h"
#include "runtime/hdf5_io.h"

namespace rsnn::barrel {

namespace {

Tensor f64(const std::vector<double>& v, Shape shape = {}) { return Tensor::from_vector(v, shape); }

Tensor i64(const std::vector<int64_t>& v, Shape shape = {}) { return Tensor::from_vector(v, shape); }

std::string joined(const std::vector<std::string>& names) {
  std::string s;
  for (size_t i = 0; i < names.size(); ++i) s += (i ? "," : "") + names[i];
  return s;
}

// Population index of each cortical neuron.
std::vector<int> population_of_neurons() {
  std::vector<int> pop(static_cast<size_t>(kCorticalNeurons));
  const auto& ps = populations();
  for (size_t k = 0; k < ps.size(); ++k)
    for (int64_t i = 0; i < ps[k].size; ++i) pop[size_t(ps[k].offset + i)] = int(k);
  return pop;
}

void write_population_info(H5File& f) {
  const auto& ps = populations();
  std::vector<int64_t> off, sign;
  std::vector<int32_t> neuron_sign(static_cast<size_t>(kCorticalNeurons));
  for (const Population& p : ps) {
    off.push_back(p.offset);
    sign.push_back(p.sign);
    for (int64_t i = 0; i < p.size; ++i) neuron_sign[size_t(p.offset + i)] = p.sign;
  }
  off.push_back(kCorticalNeurons);
  f.write("/population_offsets", i64(off));
  f.write("/population_signs", i64(sign));
  f.write("/neuron_sign", Tensor::from_vector(neuron_sign));
  f.set_attr("/", "population_names", joined(population_names()));
}

// Shortest round-trip text of a double ("nan", "inf" as Python reads them).
std::string num(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  std::ostringstream os;
  os << std::setprecision(17) << v;
  return os.str();
}

void write_kde(H5File& f, const std::string& g, const std::vector<Kde>& k) {
  const int64_t P = static_cast<int64_t>(k.size()), G = static_cast<int64_t>(k[0].grid.size());
  std::vector<double> grid, dens, bw;
  for (const Kde& e : k) {
    grid.insert(grid.end(), e.grid.begin(), e.grid.end());
    dens.insert(dens.end(), e.density.begin(), e.density.end());
    bw.push_back(e.bandwidth);
  }
  f.write(g + "/grid", f64(grid, {P, G}));
  f.write(g + "/density", f64(dens, {P, G}));
  f.write(g + "/bandwidth", f64(bw));
}

void write_hist(H5File& f, const std::string& g, const Histogram& h) {
  f.write(g + "/counts", i64(h.counts));
  f.write(g + "/edges", f64(h.edges));
}

}  // namespace

void write_raster(const std::string& h5_path, const std::string& csv_path, const RasterResult& r) {
  const int64_t T = r.raster.size(0), bins = r.rates.size(1);
  std::vector<double> bin_end;
  for (int64_t k = 0; k < bins; ++k) bin_end.push_back(double((k + 1) * r.bin));
  std::vector<std::string> gnames;
  std::vector<int64_t> bounds;
  for (const NeuronGroup& g : r.groups) {
    gnames.push_back(g.name);
    bounds.push_back(g.start);
    bounds.push_back(g.start + g.length);
  }
  H5File f = H5File::create(h5_path);
  f.write("/raster", r.raster);
  f.write("/rates", r.rates);
  f.write("/mean_rates", r.mean_rates);
  f.write("/bin_end", f64(bin_end));
  f.write("/mean_rate_per_neuron", r.mean_rate_per_neuron);
  f.write("/group_bounds", i64(bounds, {static_cast<int64_t>(r.groups.size()), 2}));
  f.set_attr("/", "group_names", joined(gnames));
  write_population_info(f);
  f.set_attr("/", "analysis", "raster");
  f.set_attr("/", "label", int64_t(r.label));
  f.set_attr("/", "class_name", class_name(r.label));
  f.set_attr("/", "sample", r.sample);
  f.set_attr("/", "samples", r.samples);
  f.set_attr("/", "bin", r.bin);
  f.set_attr("/", "T", T);
  f.close();

  std::ostringstream csv;
  csv << "bin_end";
  for (const auto& n : gnames) csv << ",sample " << n;
  for (const auto& n : gnames) csv << ",mean " << n;
  csv << "\n";
  const double* a = r.rates.data<double>();
  const double* m = r.mean_rates.data<double>();
  for (int64_t k = 0; k < bins; ++k) {
    csv << num(bin_end[size_t(k)]);
    for (size_t g = 0; g < gnames.size(); ++g) csv << ',' << num(a[int64_t(g) * bins + k]);
    for (size_t g = 0; g < gnames.size(); ++g) csv << ',' << num(m[int64_t(g) * bins + k]);
    csv << "\n";
  }
  write_text_atomic(csv_path, csv.str());
}

void write_dynamics(const std::string& h5_path, const std::string& csv_path, const DynamicsResult& r) {
  H5File f = H5File::create(h5_path);
  f.write("/tau_m", f64(r.tau_m));
  f.write("/tau_adp", f64(r.tau_adp));
  f.write("/tau_m_mean", f64(r.tau_m_mean));
  f.write("/tau_adp_mean", f64(r.tau_adp_mean));
  write_kde(f, "/tau_m_kde", r.tau_m_kde);
  write_kde(f, "/tau_adp_kde", r.tau_adp_kde);
  f.write("/rates", f64(r.rates));
  f.write("/rates_norm", f64(r.rates_norm));
  f.write("/izhikevich", f64(r.izh));
  f.write("/izhikevich_norm", f64(r.izh_norm));
  write_population_info(f);
  f.set_attr("/", "analysis", "dynamics");
  f.set_attr("/", "tau_m_init", r.tau_m_init);
  f.set_attr("/", "tau_adp_init", r.tau_adp_init);
  f.set_attr("/", "r", r.correlation.r);
  f.set_attr("/", "p", r.correlation.p);
  f.set_attr("/", "control_r", r.control_r);
  f.set_attr("/", "control_p", r.control_p);
  f.set_attr("/", "control_draws", int64_t(r.options.control_draws));
  f.set_attr("/", "control_sd", r.options.control_sd);
  f.set_attr("/", "current", r.options.current);
  f.set_attr("/", "T", r.options.T);
  f.set_attr("/", "a0", r.a0);
  f.close();

  std::ostringstream csv;
  csv << "population,size,tau_m_mean,tau_adp_mean,rate,rate_norm,izhikevich,izhikevich_norm\n";
  const auto& ps = populations();
  for (size_t k = 0; k < ps.size(); ++k)
    csv << ps[k].name << ',' << ps[k].size << ',' << num(r.tau_m_mean[k]) << ',' << num(r.tau_adp_mean[k])
        << ',' << num(r.rates[k]) << ',' << num(r.rates_norm[k]) << ',' << num(r.izh[k]) << ','
        << num(r.izh_norm[k]) << "\n";
  csv << "pearson r (rates vs izhikevich)," << num(r.correlation.r) << ",p," << num(r.correlation.p)
      << ",control r," << num(r.control_r) << ",control p," << num(r.control_p) << "\n";
  write_text_atomic(csv_path, csv.str());
}

void write_degrees(const std::string& h5_path, const std::string& csv_path, const DegreeResult& r) {
  H5File f = H5File::create(h5_path);
  f.write("/fresh/in", f64(r.fresh.in));
  f.write("/fresh/out", f64(r.fresh.out));
  f.write("/trained/in", f64(r.trained.in));
  f.write("/trained/out", f64(r.trained.out));
  write_hist(f, "/fresh/in_hist", r.fresh_in);
  write_hist(f, "/fresh/out_hist", r.fresh_out);
  write_hist(f, "/trained/in_hist", r.trained_in);
  write_hist(f, "/trained/out_hist", r.trained_out);
  write_population_info(f);
  f.set_attr("/", "analysis", "degrees");
  f.set_attr("/", "bins", static_cast<int64_t>(r.fresh_in.counts.size()));
  f.close();

  std::ostringstream csv;
  csv << "neuron,population,fresh_in,fresh_out,trained_in,trained_out\n";
  const std::vector<int> pop = population_of_neurons();
  const auto& ps = populations();
  for (size_t i = 0; i < r.fresh.in.size(); ++i)
    csv << i << ',' << ps[size_t(pop[i])].name << ',' << num(r.fresh.in[i]) << ',' << num(r.fresh.out[i])
        << ',' << num(r.trained.in[i]) << ',' << num(r.trained.out[i]) << "\n";
  write_text_atomic(csv_path, csv.str());
}

void write_cv_grid(const std::string& h5_path, const std::string& csv_path, const CvGridResult& r) {
  const int64_t nw = static_cast<int64_t>(r.w.size()), nb = static_cast<int64_t>(r.b.size());
  H5File f = H5File::create(h5_path);
  f.write("/w", f64(r.w));
  f.write("/b", f64(r.b));
  f.write("/cv", f64(r.cv, {nw, nb}));
  f.write("/rate", f64(r.rate, {nw, nb}));
  f.set_attr("/", "analysis", "cv");
  f.set_attr("/", "samples", r.samples);
  f.set_attr("/", "T", r.T);
  f.close();

  std::ostringstream csv;
  csv << "init_w,init_b,cv,rate\n";
  for (int64_t i = 0; i < nw; ++i)
    for (int64_t j = 0; j < nb; ++j)
      csv << num(r.w[size_t(i)]) << ',' << num(r.b[size_t(j)]) << ',' << num(r.cv[size_t(i * nb + j)]) << ','
          << num(r.rate[size_t(i * nb + j)]) << "\n";
  write_text_atomic(csv_path, csv.str());
}

void write_selectivity(const std::string& h5_path, const std::string& csv_path,
                       const std::vector<std::pair<std::string, const SelectivityResult*>>& results) {
  RSNN_CHECK(!results.empty(), "write_selectivity: no results");
  H5File f = H5File::create(h5_path);
  std::vector<std::string> names;
  for (const auto& [name, r] : results) {
    const std::string g = "/" + name;
    const int64_t N = static_cast<int64_t>(r->F.size()), C = static_cast<int64_t>(r->samples.size());
    names.push_back(name);
    f.write(g + "/F", f64(r->F));
    f.write(g + "/p", f64(r->p));
    f.write(g + "/tested", Tensor::from_vector(r->tested));
    f.write(g + "/selective", Tensor::from_vector(r->selective));
    f.write(g + "/class_spikes", f64(r->class_spikes, {N, C}));
    f.write(g + "/proportions", f64(r->proportions, {N, C}));
    f.write(g + "/xy", f64(r->xy, {N, 2}));
    f.write(g + "/samples", i64(r->samples));
    f.set_attr(g, "n_tested", r->n_tested);
    f.set_attr(g, "n_selective", r->n_selective);
    f.set_attr(g, "fraction", r->fraction);
    f.set_attr(g, "fraction_of_tested", r->fraction_of_tested);
    f.set_attr(g, "alpha", r->options.alpha);
    f.set_attr(g, "prior", r->options.prior);
  }
  write_population_info(f);
  f.set_attr("/", "analysis", "anova");
  f.set_attr("/", "models", joined(names));
  f.close();

  std::ostringstream csv;
  csv << "neuron,population";
  for (const auto& n : names) csv << ',' << n << "_F," << n << "_p," << n << "_selective," << n << "_x," << n << "_y";
  csv << "\n";
  const std::vector<int> pop = population_of_neurons();
  const auto& ps = populations();
  for (size_t i = 0; i < results[0].second->F.size(); ++i) {
    csv << i << ',' << ps[size_t(pop[i])].name;
    for (const auto& [name, r] : results)
      csv << ',' << num(r->F[i]) << ',' << num(r->p[i]) << ',' << int(r->selective[i]) << ','
          << num(r->xy[2 * i]) << ',' << num(r->xy[2 * i + 1]);
    csv << "\n";
  }
  write_text_atomic(csv_path, csv.str());
}

}  // namespace rsnn::barrel
