// Bindings of the rate-to-spiking system (models/rate): tasks, the Dale rate RNN and its
// training, conversion to LIF, LIF simulation and the scaling-factor grid search. Results are
// NumPy arrays and plain dicts (DataFrame-ready: equal-length columns).
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <string>
#include <vector>

#include "models/rate/grid_search.h"
#include "models/rate/lif_convert.h"
#include "models/rate/model_file.h"
#include "models/rate/rate_train.h"
#include "python/src/convert.h"
#include "python/src/module.h"

namespace rsnn::py {

namespace {

using namespace rsnn::rate;

nb::dict trial_dict(const Trial& t) {
  nb::dict d;
  d["u"] = array_of(t.u, {size_t(t.C), size_t(t.Tc)});
  d["z"] = array_of(t.z);
  d["label"] = t.label;
  return d;
}

nb::dict lif_result_dict(const LifTrialResult& r, int64_t n_units, int stride) {
  nb::dict d;
  d["out"] = array_of(r.out);
  d["fr"] = array_of(r.fr);
  d["spike_step"] = array_of(r.spike_step);
  d["spike_unit"] = array_of(r.spike_unit);
  d["n_spikes"] = r.n_spikes;
  d["nt"] = r.nt;
  const int64_t cols = n_units ? static_cast<int64_t>(r.v.size()) / n_units : 0;
  if (!r.v.empty()) d["v"] = array_of(r.v, {size_t(n_units), size_t(cols)});
  if (!r.rs.empty()) d["rates"] = array_of(r.rs, {size_t(n_units), size_t(cols)});
  d["stride"] = stride;
  return d;
}

void bind_tasks(nb::module_& r) {
  nb::class_<TaskSpec>(r, "TaskSpec", "Timing of a cognitive task, in rate steps of 5 ms.")
      .def_prop_ro("name", &TaskSpec::name)
      .def_rw("T", &TaskSpec::T)
      .def_rw("stim_on", &TaskSpec::stim_on)
      .def_rw("stim_dur", &TaskSpec::stim_dur)
      .def_rw("delay", &TaskSpec::delay)
      .def_rw("mante_offset", &TaskSpec::mante_offset)
      .def_prop_ro("n_inputs", &TaskSpec::n_inputs);
  r.def("task", [](const std::string& name) { return task_defaults(parse_task(name)); },
        nb::arg("name"), "Default timing of 'go-nogo', 'xor', 'mante', 'dms' or 'dms-wm'.");
  r.def("make_trial",
        [](const TaskSpec& t, uint64_t seed, uint64_t trial, int extra_cols) {
          return trial_dict(make_trial(t, seed, trial, extra_cols));
        },
        nb::arg("task"), nb::arg("seed"), nb::arg("trial"), nb::arg("extra_cols") = 0,
        "Trial `trial` of stream `seed`: {'u': (C, Tc), 'z': (T,), 'label': int}.");
}

void bind_net(nb::module_& r) {
  nb::class_<RateConfig>(r, "RateConfig", "The Dale rate RNN's architecture (models/rate/rate_rnn.h).")
      .def(nb::init<>())
      .def_rw("N", &RateConfig::N)
      .def_rw("P_inh", &RateConfig::P_inh)
      .def_rw("P_rec", &RateConfig::P_rec)
      .def_rw("gain", &RateConfig::gain)
      .def_rw("som_N", &RateConfig::som_N)
      .def_rw("apply_dale", &RateConfig::apply_dale)
      .def_rw("n_areas", &RateConfig::n_areas)
      .def_rw("P_inter", &RateConfig::P_inter)
      .def_rw("taus", &RateConfig::taus)
      .def_prop_rw("activation", [](const RateConfig& c) { return activation_name(c.act); },
                   [](RateConfig& c, const std::string& s) { c.act = parse_activation(s); })
      .def_rw("noise_std", &RateConfig::noise_std)
      .def_rw("x0_std", &RateConfig::x0_std)
      .def_rw("delta_t", &RateConfig::delta_t);
  nb::class_<RateNet>(r, "RateNet", "A rate network's parameters (arrays share its memory).")
      .def_ro("config", &RateNet::cfg)
      .def_prop_ro("w", [](const RateNet& n) { return to_python(n.w); })
      .def_prop_ro("w_eff", [](const RateNet& n) { return to_python(n.w_eff()); })
      .def_prop_ro("sign", [](const RateNet& n) { return to_python(n.sign); })
      .def_prop_ro("som_m", [](const RateNet& n) { return to_python(n.som_m); })
      .def_prop_ro("w_in", [](const RateNet& n) { return to_python(n.w_in); })
      .def_prop_ro("w_out", [](const RateNet& n) { return to_python(n.w_out); })
      .def_prop_ro("b_out", [](const RateNet& n) { return to_python(n.b_out); })
      .def_prop_ro("taus_gaus", [](const RateNet& n) { return to_python(n.taus_gaus); })
      .def_prop_ro("tau_steps", [](const RateNet& n) { return array_from(n.tau_steps()); });
  r.def("init_net", [](const RateConfig& c, uint64_t seed) { c.validate(); return init_rate_net(c, seed); },
        nb::arg("config"), nb::arg("seed"), "A fresh network drawn from `seed`.");
}

nb::dict train_dict(const TrainResult& t) {
  nb::dict d;
  d["converged"] = t.converged;
  d["trials"] = t.tr;
  d["seconds"] = t.seconds;
  d["losses"] = array_of(t.losses);
  using E = EvalRecord;
  d["evals"] = columns(t.evals, column("trial", &E::tr), column("stage", &E::stage),
                       column("perf", &E::perf), column("loss", &E::loss),
                       column("seconds", &E::seconds));
  d["last_perf"] = t.last_eval.perf;
  d["last_loss"] = t.last_eval.loss;
  return d;
}

void bind_train(nb::module_& r) {
  r.def("train",
        [](const TaskSpec& task, const RateConfig& net, const std::string& loss, double lr,
           int64_t max_trials, int batch, int eval_freq, int eval_trials, double loss_threshold,
           double perf_threshold, int64_t go_nogo_min_trials, uint64_t seed) {
          TrainConfig c;
          c.stages = {task};
          c.net = net;
          c.loss = parse_loss(loss);
          c.lr = lr;
          c.max_trials = max_trials;
          c.batch = batch;
          c.eval_freq = eval_freq;
          c.eval_trials = eval_trials;
          c.loss_threshold = loss_threshold;
          c.perf_threshold = perf_threshold;
          c.go_nogo_min_trials = go_nogo_min_trials;
          c.seed = seed;
          c.net.validate();
          TrainResult t;
          {
            nb::gil_scoped_release release;
            t = train_rate(c);
          }
          return nb::make_tuple(t.net, train_dict(t));
        },
        nb::arg("task"), nb::arg("net"), nb::arg("loss") = "l2", nb::arg("lr") = 0.01,
        nb::arg("max_trials") = 6000, nb::arg("batch") = 1, nb::arg("eval_freq") = 100,
        nb::arg("eval_trials") = 100, nb::arg("loss_threshold") = 7.0,
        nb::arg("perf_threshold") = 0.95, nb::arg("go_nogo_min_trials") = 1500,
        nb::arg("seed") = 1,
        "Train a rate RNN on `task` (TF1 Adam, the original stopping rule). Returns (net, "
        "record) with record['evals'] a dict of equal-length columns.");
  r.def("evaluate",
        [](const RateNet& net, const TaskSpec& task, const std::string& loss, uint64_t seed,
           uint64_t first_trial, int n) {
          EvalResult e;
          {
            nb::gil_scoped_release release;
            e = evaluate_rate(net, task, parse_loss(loss), seed, first_trial, n);
          }
          nb::dict d;
          d["perf"] = e.perf;
          d["loss"] = e.loss;
          d["o"] = to_python(e.o);
          d["labels"] = array_of(e.labels);
          return d;
        },
        nb::arg("net"), nb::arg("task"), nb::arg("loss") = "l2", nb::arg("seed") = 1,
        nb::arg("first_trial") = 1000000, nb::arg("n") = 100,
        "Fresh trials with noise: {'perf', 'loss', 'o': (n, T-1), 'labels': (n,)}.");
  r.def("save_model",
        [](const std::string& path, const RateNet& net, const TaskSpec& task, uint64_t seed) {
          RateModel m;
          m.net = net;
          m.task = task;
          m.seed = seed;
          save_rate_model(path, m);
        },
        nb::arg("path"), nb::arg("net"), nb::arg("task"), nb::arg("seed") = 0,
        "Save a network as the CLI's native HDF5 model file (written atomically).");
  r.def("load_model",
        [](const std::string& path) {
          RateModel m = load_rate_model(path);
          return nb::make_tuple(m.net, m.task);
        },
        nb::arg("path"), "(net, task) of a saved rate model (the CLI's HDF5 file).");
}

void bind_lif(nb::module_& r) {
  nb::class_<LifParams>(r, "LifParams", "LIF conversion constants (models/rate/lif_convert.h).")
      .def(nb::init<>())
      .def_rw("dt", &LifParams::dt)
      .def_rw("downsample", &LifParams::downsample)
      .def_rw("tref", &LifParams::tref)
      .def_rw("tm", &LifParams::tm)
      .def_rw("vreset", &LifParams::vreset)
      .def_rw("vpeak", &LifParams::vpeak)
      .def_rw("bias", &LifParams::bias)
      .def_rw("tr", &LifParams::tr)
      .def_rw("noise_std", &LifParams::noise_std);
  nb::class_<LifNetwork>(r, "LifNetwork", "A rate network converted to LIF neurons.")
      .def_ro("N", &LifNetwork::N)
      .def_ro("C", &LifNetwork::C)
      .def_ro("scaling_factor", &LifNetwork::scaling_factor)
      .def("steps_for", &LifNetwork::steps_for, nb::arg("columns"));
  r.def("convert", &convert_to_lif, nb::arg("net"), nb::arg("scaling_factor"),
        nb::arg("params") = LifParams{}, "The LIF network of `net` at a scaling factor (1/lambda).");
  r.def("simulate",
        [](const LifNetwork& lif, const Array& u, uint64_t seed, uint64_t trial, bool spikes,
           bool voltage, bool rates, int stride) {
          const Tensor tu = to_tensor(u, "u").to(Device::cpu()).to_dtype(DType::f32);
          RSNN_CHECK(tu.ndim() == 2 && tu.size(0) == lif.C, "simulate: u must be (C=", lif.C,
                     ", Tc), got ", tu.shape_str());
          RSNN_CHECK(stride >= 1, "simulate: stride must be >= 1, got ", stride);
          LifRecord rec;
          rec.spikes = spikes;
          rec.voltage = voltage;
          rec.rates = rates;
          rec.stride = stride;
          LifTrialResult res;
          {
            nb::gil_scoped_release release;
            res = simulate_lif(lif, tu.data<float>(), int(tu.size(1)), seed, trial, rec);
          }
          return lif_result_dict(res, lif.N, stride);
        },
        nb::arg("lif"), nb::arg("u"), nb::arg("seed") = 1, nb::arg("trial") = 0,
        nb::arg("spikes") = true, nb::arg("voltage") = false, nb::arg("rates") = false,
        nb::arg("stride") = 1,
        "One LIF trial on inputs u (C, Tc): {'out', 'fr', 'spike_step', 'spike_unit', ...}.");
  r.def("grid_search",
        [](const RateNet& net, const TaskSpec& task, const std::string& scaling_factors,
           int n_trials, uint64_t seed, const LifParams& lif) {
          GridSearchConfig c;
          c.scaling_factors = parse_scaling_factors(scaling_factors);
          c.n_trials = n_trials;
          c.seed = seed;
          c.lif = lif;
          GridSearchResult g;
          {
            nb::gil_scoped_release release;
            g = grid_search(net, task, c);
          }
          nb::dict d;
          d["scaling_factor"] = array_of(g.scaling_factors);
          d["perf"] = array_of(g.all_perfs);
          d["opt_scaling_factor"] = g.opt_scaling_factor;
          d["opt_index"] = g.opt_index;
          d["trials_run"] = g.trials_run;
          return d;
        },
        nb::arg("net"), nb::arg("task"), nb::arg("scaling_factors") = "20:5:75",
        nb::arg("n_trials") = 100, nb::arg("seed") = 1, nb::arg("params") = LifParams{},
        "The scaling-factor grid search: performance per factor and the first best one.");
}

}  // namespace

void bind_rate(nb::module_& m) {
  nb::module_ r = m.def_submodule("rate", "The rate-to-spiking system (models/rate).");
  bind_tasks(r);
  bind_net(r);
  bind_train(r);
  bind_lif(r);
}

}  // namespace rsnn::py
