// Bindings of the engine: projections, the fused recurrent LIF op (forward, backward) and the
// Adam update. Every array argument is borrowed without a copy (convert.h); heavy calls release
// the GIL.
#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "kernels/adam.h"
#include "kernels/projection.h"
#include "kernels/recurrent_lif.h"
#include "python/src/convert.h"
#include "python/src/module.h"

namespace rsnn::py {

namespace {

using OptArray = std::optional<Array>;

PopulationLayout make_layout(std::vector<std::string> names, std::vector<int64_t> sizes,
                             std::vector<int> signs, const char* what) {
  PopulationLayout l;
  l.names = std::move(names);
  l.sizes = std::move(sizes);
  l.signs = std::move(signs);
  l.validate(what);
  return l;
}

Projection from_pairs(int64_t n_pre, int64_t n_post, const Array& post, const Array& pre,
                      const Array& source_sign) {
  const Tensor tpost = to_tensor(post, "post").to(Device::cpu()).to_dtype(DType::i32);
  const Tensor tpre = to_tensor(pre, "pre").to(Device::cpu()).to_dtype(DType::i32);
  RSNN_CHECK(tpost.ndim() == 1 && tpre.ndim() == 1 && tpost.numel() == tpre.numel(),
             "from_pairs: post and pre must be 1-D of one length, got ", tpost.shape_str(),
             " and ", tpre.shape_str());
  const Tensor sign = to_tensor(source_sign, "source_sign").to(Device::cpu()).to_dtype(DType::f32);
  nb::gil_scoped_release release;
  return projection_from_pairs(n_pre, n_post, tpost.to_vector<int32_t>(), tpre.to_vector<int32_t>(),
                               sign);
}

kernels::LifInputs lif_inputs(const Array& w, const Array& tau_m, const Array& b_base,
                              const Array& i_ext, const OptArray& tau_adp, const OptArray& v0,
                              const OptArray& a0, const OptArray& s0, const OptArray& w_ro) {
  kernels::LifInputs x;
  x.w = to_tensor(w, "w");
  x.tau_m = to_tensor(tau_m, "tau_m");
  x.b_base = to_tensor(b_base, "b_base");
  x.i_ext = to_tensor(i_ext, "i_ext");
  x.tau_adp = to_tensor(tau_adp, "tau_adp");
  x.v0 = to_tensor(v0, "v0");
  x.a0 = to_tensor(a0, "a0");
  x.s0 = to_tensor(s0, "s0");
  x.w_ro = to_tensor(w_ro, "w_ro");
  return x;
}

kernels::LifNeeds parse_needs(const std::vector<std::string>& names) {
  kernels::LifNeeds n;
  for (const std::string& s : names) {
    if (s == "w") n.w = true;
    else if (s == "tau_m") n.tau_m = true;
    else if (s == "tau_adp") n.tau_adp = true;
    else if (s == "i_ext") n.i_ext = true;
    else if (s == "v0") n.v0 = true;
    else if (s == "a0") n.a0 = true;
    else if (s == "s0") n.s0 = true;
    else if (s == "w_ro") n.w_ro = true;
    else RSNN_FAIL("lif_backward: needs: unknown gradient '", s,
                   "' (expected w, tau_m, tau_adp, i_ext, v0, a0, s0, w_ro)");
  }
  return n;
}

nb::dict stats_dict(const kernels::LifStats& s) {
  using S = kernels::LifStats;
  return fields(s, column("spikes", &S::spikes), column("push_steps", &S::push_steps),
                column("pull_steps", &S::pull_steps), column("slices", &S::slices),
                column("synaptic_events", &S::synaptic_events), column("threads", &S::threads));
}

void bind_projection(nb::module_& m) {
  nb::class_<Projection>(m, "Projection",
                         "A sparse projection: post-major CSR (rows = targets) and its pre-major "
                         "transpose; the sign of every synapse is its source's.")
      .def_ro("n_pre", &Projection::n_pre)
      .def_ro("n_post", &Projection::n_post)
      .def_prop_ro("nnz", &Projection::nnz)
      .def_prop_ro("device", [](const Projection& p) { return p.device().str(); })
      .def_prop_ro("post_ptr", [](const Projection& p) { return to_python(p.post_ptr); })
      .def_prop_ro("pre_idx", [](const Projection& p) { return to_python(p.pre_idx); })
      .def_prop_ro("pre_ptr", [](const Projection& p) { return to_python(p.pre_ptr); })
      .def_prop_ro("post_idx", [](const Projection& p) { return to_python(p.post_idx); })
      .def_prop_ro("syn_of_pre", [](const Projection& p) { return to_python(p.syn_of_pre); })
      .def_prop_ro("source_sign", [](const Projection& p) { return to_python(p.source_sign); })
      .def("to", [](const Projection& p, const std::string& dev) {
             if (dev == "cpu") return p.to(Device::cpu());
             if (dev == "cuda") return p.to(Device::cuda(0));
             const bool digits = dev.size() > 5 && dev.size() < 9 && dev.rfind("cuda:", 0) == 0 &&
                                 dev.find_first_not_of("0123456789", 5) == std::string::npos;
             RSNN_CHECK(digits, "Projection.to: device '", dev, "' (expected cpu, cuda or cuda:N)");
             return p.to(Device::cuda(std::stoi(dev.substr(5))));
           },
           nb::arg("device"), "A copy on `device` ('cpu', 'cuda', 'cuda:1').")
      .def("to_dense",
           [](const Projection& p, const Array& values, bool signed_values) {
             return to_python(to_dense(p, to_tensor(values, "values"), signed_values));
           },
           nb::arg("values"), nb::arg("signed") = true,
           "Dense [n_post, n_pre] matrix of sign * value (value alone with signed=False).")
      .def("validate", [](const Projection& p) { p.validate("Projection"); },
           "Structural checks; raises rsnn.Error on an inconsistent structure.");

  m.def("build_projection",
        [](std::vector<std::string> pre_names, std::vector<int64_t> pre_sizes,
           std::vector<int> pre_signs, std::vector<std::string> post_names,
           std::vector<int64_t> post_sizes, std::vector<int> post_signs, const Array& prob,
           uint64_t seed, uint64_t stream, bool same_network, bool allow_autapses) {
          ProjectionSpec spec;
          spec.pre = make_layout(std::move(pre_names), std::move(pre_sizes), std::move(pre_signs),
                                 "build_projection: pre");
          spec.post = make_layout(std::move(post_names), std::move(post_sizes),
                                  std::move(post_signs), "build_projection: post");
          spec.prob = to_tensor(prob, "prob").to(Device::cpu()).to_dtype(DType::f64);
          spec.seed = seed;
          spec.stream = stream;
          spec.same_network = same_network;
          spec.allow_autapses = allow_autapses;
          nb::gil_scoped_release release;
          return build_projection(spec);
        },
        nb::arg("pre_names"), nb::arg("pre_sizes"), nb::arg("pre_signs"), nb::arg("post_names"),
        nb::arg("post_sizes"), nb::arg("post_signs"), nb::arg("prob"), nb::arg("seed"),
        nb::arg("stream") = 0, nb::arg("same_network") = false, nb::arg("allow_autapses") = true,
        "Bernoulli(prob[pre group, post group]) synapses between two population tables "
        "(counter-based: the same network for the same seed and stream on any thread count).");
  m.def("projection_from_pairs", &from_pairs, nb::arg("n_pre"), nb::arg("n_post"),
        nb::arg("post"), nb::arg("pre"), nb::arg("source_sign"),
        "A projection from (post, pre) synapse pairs in any order; duplicates are an error.");
  m.def("projection_from_dense_mask",
        [](const Array& mask, const Array& source_sign) {
          return projection_from_dense_mask(to_tensor(mask, "mask"),
                                            to_tensor(source_sign, "source_sign"));
        },
        nb::arg("mask"), nb::arg("source_sign"),
        "A projection from a [n_post, n_pre] mask (non-zero = synapse).");
  m.def("init_uniform",
        [](Array values, double lo, double hi, uint64_t seed, uint64_t stream) {
          Tensor t = to_tensor(values, "values");
          init_uniform(t, lo, hi, seed, stream);
        },
        nb::arg("values").noconvert(), nb::arg("lo"), nb::arg("hi"), nb::arg("seed"),
        nb::arg("stream") = 0, "Fill `values` in place with Philox uniforms in (lo, hi).");
  m.def("init_normal",
        [](Array values, double mean, double stddev, uint64_t seed, uint64_t stream) {
          Tensor t = to_tensor(values, "values");
          init_normal(t, mean, stddev, seed, stream);
        },
        nb::arg("values").noconvert(), nb::arg("mean"), nb::arg("stddev"), nb::arg("seed"),
        nb::arg("stream") = 0, "Fill `values` in place with Philox normals.");
}

void bind_config(nb::module_& m) {
  nb::enum_<NeuronModel>(m, "NeuronModel")
      .value("lif", NeuronModel::lif)
      .value("alif", NeuronModel::alif)
      .value("if_", NeuronModel::if_);
  nb::enum_<Surrogate>(m, "Surrogate")
      .value("gaussian", Surrogate::gaussian)
      .value("fast_sigmoid", Surrogate::fast_sigmoid)
      .value("triangle", Surrogate::triangle);
  nb::enum_<UpdateOrder>(m, "UpdateOrder")
      .value("gauss_seidel", UpdateOrder::gauss_seidel)
      .value("previous_step", UpdateOrder::previous_step);
  nb::enum_<Propagation>(m, "Propagation")
      .value("automatic", Propagation::automatic)
      .value("pull", Propagation::pull)
      .value("push", Propagation::push)
      .value("cusparse", Propagation::cusparse);
  nb::class_<LifConfig>(m, "LifConfig", "Configuration of the fused recurrent LIF op "
                                        "(kernels/recurrent_lif.h).")
      .def(nb::init<>())
      .def_rw("model", &LifConfig::model)
      .def_rw("dt", &LifConfig::dt)
      .def_rw("r_m", &LifConfig::r_m)
      .def_rw("beta", &LifConfig::beta)
      .def_rw("surrogate", &LifConfig::surrogate)
      .def_rw("sg_width", &LifConfig::sg_width)
      .def_rw("sg_scale", &LifConfig::sg_scale)
      .def_rw("order", &LifConfig::order)
      .def_rw("propagation", &LifConfig::propagation)
      .def_rw("group_offsets", &LifConfig::group_offsets)
      .def_rw("input_offset", &LifConfig::input_offset)
      .def_prop_rw(
          "readout",
          [](const LifConfig& c) {
            std::vector<std::pair<int64_t, int64_t>> r;
            for (const NeuronRange& n : c.readout) r.emplace_back(n.start, n.length);
            return r;
          },
          [](LifConfig& c, const std::vector<std::pair<int64_t, int64_t>>& r) {
            c.readout.clear();
            for (const auto& [start, length] : r) c.readout.push_back(NeuronRange{start, length});
          },
          "Neuron ranges (start, length) read by w_ro, in column order.")
      .def_rw("output_spikes", &LifConfig::output_spikes)
      .def_rw("record_spikes", &LifConfig::record_spikes)
      .def_rw("record_state", &LifConfig::record_state);
}

// The forward's outputs; `saved` is what lif_backward needs.
struct ForwardResult {
  kernels::LifForward f;
};

void bind_lif(nb::module_& m) {
  nb::class_<kernels::LifSaved>(m, "LifSaved", "State the fused op keeps for its backward.")
      .def_prop_ro("bytes", &kernels::LifSaved::bytes)
      .def_prop_ro("bytes_per_neuron_step", &kernels::LifSaved::bytes_per_neuron_step);
  nb::class_<ForwardResult>(m, "LifForward", "Outputs of lif_forward (arrays share memory).")
      .def_prop_ro("spikes", [](const ForwardResult& r) { return to_python(r.f.spikes); })
      .def_prop_ro("readout", [](const ForwardResult& r) { return to_python(r.f.readout); })
      .def_prop_ro("spike_record", [](const ForwardResult& r) { return to_python(r.f.spike_record); })
      .def_prop_ro("v_record", [](const ForwardResult& r) { return to_python(r.f.v_record); })
      .def_prop_ro("a_record", [](const ForwardResult& r) { return to_python(r.f.a_record); })
      .def_prop_ro("saved", [](const ForwardResult& r) { return r.f.saved; })
      .def_prop_ro("stats", [](const ForwardResult& r) { return stats_dict(r.f.stats); });

  m.def("lif_forward",
        [](const Projection& p, const LifConfig& cfg, const Array& w, const Array& tau_m,
           const Array& b_base, const Array& i_ext, const OptArray& tau_adp, const OptArray& v0,
           const OptArray& a0, const OptArray& s0, const OptArray& w_ro, bool keep_for_backward) {
          const kernels::LifInputs x = lif_inputs(w, tau_m, b_base, i_ext, tau_adp, v0, a0, s0, w_ro);
          nb::gil_scoped_release release;
          return ForwardResult{kernels::recurrent_lif_forward(p, cfg, x, keep_for_backward)};
        },
        nb::arg("projection"), nb::arg("config"), nb::arg("w"), nb::arg("tau_m"), nb::arg("b_base"),
        nb::arg("i_ext"), nb::arg("tau_adp") = nb::none(), nb::arg("v0") = nb::none(),
        nb::arg("a0") = nb::none(), nb::arg("s0") = nb::none(), nb::arg("w_ro") = nb::none(),
        nb::arg("keep_for_backward") = false,
        "All T steps of the recurrent (adaptive) LIF layer. i_ext [T, B, N_in]; w [nnz] "
        "post-major magnitudes; tau_m, tau_adp, b_base [N]; v0, a0, s0 [B, N]; w_ro [R, N_ro].");
  m.def("lif_forward_seconds",
        [](const Projection& p, const LifConfig& cfg, const Array& w, const Array& tau_m,
           const Array& b_base, const Array& i_ext, const OptArray& tau_adp, const OptArray& w_ro,
           int reps) {
          RSNN_CHECK(reps >= 1, "lif_forward_seconds: reps must be >= 1, got ", reps);
          const kernels::LifInputs x =
              lif_inputs(w, tau_m, b_base, i_ext, tau_adp, std::nullopt, std::nullopt, std::nullopt, w_ro);
          nb::gil_scoped_release release;
          const auto t0 = std::chrono::steady_clock::now();
          for (int i = 0; i < reps; ++i) kernels::recurrent_lif_forward(p, cfg, x, false);
          return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / reps;
        },
        nb::arg("projection"), nb::arg("config"), nb::arg("w"), nb::arg("tau_m"), nb::arg("b_base"),
        nb::arg("i_ext"), nb::arg("tau_adp") = nb::none(), nb::arg("w_ro") = nb::none(),
        nb::arg("reps") = 1000,
        "Mean seconds of lif_forward timed inside C++ (inputs converted once): the floor that "
        "the binding overhead per call is measured against (python/bench/binding_overhead.py).");
  m.def("lif_backward",
        [](const Projection& p, const LifConfig& cfg, const Array& w, const Array& tau_m,
           const Array& b_base, const Array& i_ext, const kernels::LifSaved& saved,
           const OptArray& dspikes, const OptArray& dreadout, const std::vector<std::string>& needs,
           const OptArray& tau_adp, const OptArray& v0, const OptArray& a0, const OptArray& s0,
           const OptArray& w_ro) {
          const kernels::LifInputs x = lif_inputs(w, tau_m, b_base, i_ext, tau_adp, v0, a0, s0, w_ro);
          const Tensor ds = to_tensor(dspikes, "dspikes"), dr = to_tensor(dreadout, "dreadout");
          const kernels::LifNeeds n = parse_needs(needs);
          kernels::LifGrads g;
          {
            nb::gil_scoped_release release;
            g = kernels::recurrent_lif_backward(p, cfg, x, saved, ds, dr, n);
          }
          nb::dict d;
          const std::pair<const char*, const Tensor*> all[] = {
              {"w", &g.dw},     {"tau_m", &g.dtau_m}, {"tau_adp", &g.dtau_adp}, {"i_ext", &g.di_ext},
              {"v0", &g.dv0},   {"a0", &g.da0},       {"s0", &g.ds0},           {"w_ro", &g.dw_ro}};
          for (const auto& [name, t] : all)
            if (t->defined()) d[name] = to_python(*t);
          return d;
        },
        nb::arg("projection"), nb::arg("config"), nb::arg("w"), nb::arg("tau_m"), nb::arg("b_base"),
        nb::arg("i_ext"), nb::arg("saved"), nb::arg("dspikes") = nb::none(),
        nb::arg("dreadout") = nb::none(), nb::arg("needs") = std::vector<std::string>{"w"},
        nb::arg("tau_adp") = nb::none(), nb::arg("v0") = nb::none(), nb::arg("a0") = nb::none(),
        nb::arg("s0") = nb::none(), nb::arg("w_ro") = nb::none(),
        "Exact BPTT of lif_forward (same inputs, its `saved`). Returns {name: gradient} for "
        "the names in `needs`.");
}

void bind_adam(nb::module_& m) {
  m.def("adam_step",
        [](Array param, const Array& grad, Array m1, Array v, const OptArray& vmax, int64_t step,
           double lr, double beta1, double beta2, double eps, double weight_decay, bool decoupled,
           bool amsgrad) {
          kernels::AdamConfig c;
          c.lr = lr;
          c.beta1 = beta1;
          c.beta2 = beta2;
          c.eps = eps;
          c.weight_decay = weight_decay;
          c.decoupled = decoupled;
          c.amsgrad = amsgrad;
          Tensor tp = to_tensor(param, "param"), tm = to_tensor(m1, "m"), tv = to_tensor(v, "v");
          Tensor tvmax = to_tensor(vmax, "vmax");
          const Tensor tg = to_tensor(grad, "grad");
          nb::gil_scoped_release release;
          kernels::adam_step_(tp, tg, tm, tv, tvmax, step, c);
        },
        nb::arg("param").noconvert(), nb::arg("grad"), nb::arg("m").noconvert(),
        nb::arg("v").noconvert(), nb::arg("vmax").noconvert() = nb::none(), nb::arg("step"),
        nb::arg("lr") = 1e-3, nb::arg("beta1") = 0.9, nb::arg("beta2") = 0.999,
        nb::arg("eps") = 1e-8, nb::arg("weight_decay") = 0.0, nb::arg("decoupled") = false,
        nb::arg("amsgrad") = false,
        "One Adam/AdamW update in place on param, m, v (vmax with amsgrad), as torch.optim.Adam; "
        "step counts this update (1 on the first).");
}

}  // namespace

void bind_engine(nb::module_& m) {
  bind_projection(m);
  bind_config(m);
  bind_lif(m);
  bind_adam(m);
}

}  // namespace rsnn::py
