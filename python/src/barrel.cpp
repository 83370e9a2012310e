// Bindings of the barrel-cortex system (models/barrel): synthetic whisker data, encoding,
// deprivation, the model (forward, train, evaluate, checkpoints) and the analyses. Results
// are NumPy arrays and dicts of equal-length columns (DataFrame-ready).
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/unique_ptr.h>
#include <nanobind/stl/vector.h>

#include <memory>
#include <string>
#include <vector>

#include "models/barrel/analysis.h"
#include "models/barrel/train.h"
#include "models/barrel/whisker_synth.h"
#include "python/src/convert.h"
#include "python/src/module.h"

namespace rsnn::py {

namespace {

using namespace rsnn::barrel;

void bind_data(nb::module_& b) {
  nb::class_<WhiskerData>(b, "WhiskerData",
                          "Whisker contact data: force, torque float32 [N, 12, 110, 31, 3, 3], "
                          "label int32 [N] (0 helmet, 1 box, 2 plane).")
      .def("__init__",
           [](WhiskerData* d, const Array& force, const Array& torque, const Array& label) {
             WhiskerData w;
             w.force = to_tensor(force, "force");
             w.torque = to_tensor(torque, "torque");
             w.label = to_tensor(label, "label");
             validate(w, "WhiskerData");
             new (d) WhiskerData(std::move(w));
           },
           nb::arg("force"), nb::arg("torque"), nb::arg("label"),
           "Wrap arrays (float32 force/torque, int32 labels: no copy); validates every value.")
      .def_prop_ro("force", [](const WhiskerData& d) { return to_python(d.force); })
      .def_prop_ro("torque", [](const WhiskerData& d) { return to_python(d.torque); })
      .def_prop_ro("label", [](const WhiskerData& d) { return to_python(d.label); })
      .def("__len__", &WhiskerData::size);
  b.def("synthesize",
        [](int64_t n, uint64_t seed, uint64_t stream) {
          nb::gil_scoped_release release;
          return synthesize_whisker_data(n, seed, stream);
        },
        nb::arg("n"), nb::arg("seed"), nb::arg("stream") = 0,
        "n synthetic samples (balanced classes) of (seed, stream); docs/whisker.md.");
  b.def("read_whisker_h5", &read_whisker_h5, nb::arg("path"), "Whisker data in the original HDF5 layout.");
  b.def("write_whisker_h5",
        [](const std::string& path, const WhiskerData& d) { write_whisker_h5(path, d); },
        nb::arg("path"), nb::arg("data"), "Write whisker data (atomically).");
  b.def("deprive", &deprive, nb::arg("data"), nb::arg("whiskers"),
        "A copy with the given whiskers (0..30) zeroed.");
  b.def("deprivation_sets", &deprivation_sets, nb::arg("k"), nb::arg("trials"), nb::arg("seed"),
        nb::arg("n_candidates") = 30, "The original deprivation test's whisker sets for k whiskers.");
  b.def("split", &split_stratified, nb::arg("data"), nb::arg("test_fraction"), nb::arg("seed"),
        "Stratified (train, test) split.");
  b.def("class_counts", [](const WhiskerData& d) { return array_from(class_counts(d)); },
        nb::arg("data"));

  nb::class_<EncodedSet>(b, "EncodedSet", "A data set encoded for a model form.")
      .def_prop_ro("x", [](const EncodedSet& s) { return to_python(s.x); })
      .def_prop_ro("labels", [](const EncodedSet& s) { return to_python(s.labels); })
      .def("__len__", &EncodedSet::size);
  b.def("encode",
        [](const BarrelConfig& c, const WhiskerData& d, uint64_t seed) {
          nb::gil_scoped_release release;
          return encode_for(c, d, seed);
        },
        nb::arg("config"), nb::arg("data"), nb::arg("seed") = 0,
        "Spikes uint8 [N, 2, 550, 93] (spiking form) or real float32 [N, 110, 558].");
  b.def("make_batch",
        [](const BarrelConfig& c, const EncodedSet& s, const std::vector<int64_t>& index) {
          return to_python(make_batch(c, s, index));
        },
        nb::arg("config"), nb::arg("set"), nb::arg("index"), "Model input [T, B, F] of samples `index`.");
}

void bind_model(nb::module_& b) {
  nb::class_<BarrelConfig>(b, "BarrelConfig", "The barrel model's configuration (models/barrel/model.h).")
      .def(nb::init<>())
      .def_static("spiking_default", &BarrelConfig::spiking_default)
      .def_static("real_default", &BarrelConfig::real_default)
      .def_prop_rw("form", [](const BarrelConfig& c) { return form_name(c.form); },
                   [](BarrelConfig& c, const std::string& s) { c.form = parse_form(s); })
      .def_rw("T", &BarrelConfig::T)
      .def_rw("init_b", &BarrelConfig::init_b)
      .def_rw("init_w", &BarrelConfig::init_w)
      .def_rw("tau_m_init", &BarrelConfig::tau_m_init)
      .def_rw("tau_adp_init", &BarrelConfig::tau_adp_init)
      .def_rw("beta", &BarrelConfig::beta)
      .def_rw("order", &BarrelConfig::order)
      .def_rw("propagation", &BarrelConfig::propagation)
      .def_rw("seed", &BarrelConfig::seed)
      .def_rw("tables_dir", &BarrelConfig::tables_dir)
      .def("validate", &BarrelConfig::validate);

  nb::class_<BarrelModel>(b, "BarrelModel", "The barrel-cortex RSNN (4,418 aLIF neurons).")
      .def("__init__",
           [](BarrelModel* m, const BarrelConfig& c) {
             c.validate();
             nb::gil_scoped_release release;
             new (m) BarrelModel(c);
           },
           nb::arg("config"))
      .def_prop_ro("config", &BarrelModel::config)
      .def_prop_ro("projection", &BarrelModel::projection)
      .def_prop_ro("neurons", &BarrelModel::neurons)
      .def_prop_ro("b_base", [](const BarrelModel& m) { return to_python(m.b_base()); })
      .def("parameters",
           [](const BarrelModel& m) {
             nb::dict d;
             for (const auto& [name, v] : m.named_parameters()) d[name.c_str()] = to_python(v.value());
             return d;
           },
           "{name: array} of every trainable tensor (views: writing them changes the model).")
      .def("forward",
           [](BarrelModel& m, const Array& input, const std::optional<Array>& labels, bool record) {
             const Tensor x = to_tensor(input, "input");
             const Tensor y = to_tensor(labels, "labels");
             ForwardResult r;
             {
               nb::gil_scoped_release release;
               ag::NoGradGuard no_grad;
               r = m.forward(x, y, record);
             }
             nb::dict d;
             d["outputs"] = to_python(r.outputs.value());
             d["loss"] = r.loss.defined() ? nb::cast(r.loss.value().item<double>()) : nb::none();
             d["spike_record"] = to_python(r.spike_record);
             d["spikes"] = r.stats.spikes;
             return d;
           },
           nb::arg("input"), nb::arg("labels") = nb::none(), nb::arg("record_spikes") = false,
           "Forward without gradients: {'outputs' [B, 3], 'loss', 'spike_record' [T, B, 4418]}.");
  b.def("train",
        [](BarrelModel& m, const EncodedSet& tr, const EncodedSet& te, int64_t epochs,
           int64_t batch, double lr, int64_t step_size, double gamma, const std::string& run_dir,
           bool progress) {
          TrainOptions o;
          o.epochs = epochs;
          o.batch = batch;
          o.lr = lr;
          o.step_size = step_size;
          o.gamma = gamma;
          o.run_dir = run_dir;
          o.progress = progress;
          TrainSummary s;
          {
            nb::gil_scoped_release release;
            s = train(m, tr, te, o);
          }
          using S = TrainSummary;
          return fields(s, column("epochs_run", &S::epochs_run), column("first_loss", &S::first_loss),
                        column("last_loss", &S::last_loss),
                        column("last_train_accuracy", &S::last_train_accuracy),
                        column("last_test_accuracy", &S::last_test_accuracy),
                        column("seconds", &S::seconds));
        },
        nb::arg("model"), nb::arg("train_set"), nb::arg("test_set"), nb::arg("epochs") = 100,
        nb::arg("batch") = 128, nb::arg("lr") = 0.008, nb::arg("step_size") = 20,
        nb::arg("gamma") = 0.8, nb::arg("run_dir") = "", nb::arg("progress") = false,
        "The original schedule (Adam, StepLR); run_dir gets checkpoint.h5 and log.csv.");
  b.def("evaluate",
        [](BarrelModel& m, const EncodedSet& s, int64_t batch) {
          EvalResult e;
          {
            nb::gil_scoped_release release;
            e = evaluate(m, s, batch);
          }
          nb::dict d;
          d["loss"] = e.loss;
          d["accuracy"] = e.accuracy;
          d["samples"] = e.samples;
          d["predictions"] = array_of(e.predictions);
          return d;
        },
        nb::arg("model"), nb::arg("set"), nb::arg("batch") = 128);
  b.def("load_checkpoint", &load_checkpoint, nb::arg("path"), "The model of a checkpoint.");
}

nb::dict raster_dict(const RasterResult& r) {
  nb::dict d;
  d["label"] = r.label;
  d["raster"] = to_python(r.raster);
  d["rates"] = to_python(r.rates);
  d["mean_rates"] = to_python(r.mean_rates);
  d["mean_rate_per_neuron"] = to_python(r.mean_rate_per_neuron);
  std::vector<std::string> names;
  for (const NeuronGroup& g : r.groups) names.push_back(g.name);
  d["groups"] = nb::cast(names);
  d["bin"] = r.bin;
  return d;
}

void bind_analyses(nb::module_& b) {
  b.def("raster",
        [](BarrelModel& m, const EncodedSet& s, int label, int64_t sample, int64_t per_class,
           int64_t bin) {
          std::vector<int64_t> idx = samples_of_class(s, label);
          RSNN_CHECK(!idx.empty(), "raster: no sample of class ", label, " in the set");
          if (per_class > 0 && int64_t(idx.size()) > per_class) idx.resize(per_class);
          RSNN_CHECK(sample >= 0 && sample < int64_t(idx.size()), "raster: sample ", sample,
                     " out of range (", idx.size(), " samples of class ", label, ")");
          RasterResult r;
          {
            nb::gil_scoped_release release;
            const Activity a = record_activity(m, s, idx, 0, sample);
            r = raster_analysis(a, label, sample, bin);
          }
          return raster_dict(r);
        },
        nb::arg("model"), nb::arg("set"), nb::arg("label"), nb::arg("sample") = 0,
        nb::arg("per_class") = 0, nb::arg("bin") = 10,
        "Raster uint8 [T, 4218] of one sample of a class and population rates [4, T/bin].");
  b.def("neuron_dynamics",
        [](const BarrelModel& m, double current, int64_t T) {
          DynamicsOptions o;
          o.current = current;
          o.T = T;
          DynamicsResult r;
          {
            nb::gil_scoped_release release;
            r = neuron_dynamics(m, o);
          }
          nb::dict d;
          d["tau_m"] = array_of(r.tau_m);
          d["tau_adp"] = array_of(r.tau_adp);
          nb::dict pop;  // one row per population (13)
          pop["tau_m_mean"] = array_of(r.tau_m_mean);
          pop["tau_adp_mean"] = array_of(r.tau_adp_mean);
          pop["rate"] = array_of(r.rates);
          pop["rate_norm"] = array_of(r.rates_norm);
          pop["izhikevich"] = array_of(r.izh);
          pop["izhikevich_norm"] = array_of(r.izh_norm);
          d["populations"] = pop;
          d["r"] = r.correlation.r;
          d["p"] = r.correlation.p;
          return d;
        },
        nb::arg("model"), nb::arg("current") = 1.0, nb::arg("T") = 550,
        "Trained time constants and isolated-population firing rates vs Izhikevich rates.");
  b.def("recurrent_degrees",
        [](const BarrelModel& m) {
          const WeightedDegrees w = recurrent_degrees(m);
          nb::dict d;
          d["in"] = array_of(w.in);
          d["out"] = array_of(w.out);
          return d;
        },
        nb::arg("model"), "Weighted in/out degree of every cortical neuron (cortex -> cortex).");
}

}  // namespace

void bind_barrel(nb::module_& m) {
  nb::module_ b = m.def_submodule("barrel", "The barrel-cortex system (models/barrel).");
  bind_data(b);
  bind_model(b);
  bind_analyses(b);
}

}  // namespace rsnn::py
