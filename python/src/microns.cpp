// Bindings of the MICrONS system (models/microns, kernels/graph_metrics): field folders, the 11
// variants (their initial kernels and regularizers), the three tasks, one training run and the
// graph metrics. A field's matrices are NumPy views of the loaded field (no copy); results are
// dicts of arrays and equal-length columns (DataFrame-ready).
#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "kernels/graph_metrics.h"
#include "models/microns/field.h"
#include "models/microns/regularizers.h"
#include "models/microns/tasks.h"
#include "models/microns/train.h"
#include "models/microns/variants.h"
#include "python/src/convert.h"
#include "python/src/module.h"
#include "runtime/device.h"

namespace rsnn::py {

namespace {

using namespace rsnn::microns;
using GridTuple = std::tuple<int, int, int>;

// The N x N float32 matrix `a` (weights W[i, j] = unit i -> unit j), copied to a CPU vector.
std::vector<float> square_f32(const Array& a, int N, const char* what) {
  const Tensor t = to_tensor(a, what).to(Device::cpu()).to_dtype(DType::f32);
  RSNN_CHECK(t.ndim() == 2 && t.size(0) == t.size(1) && (N <= 0 || t.size(0) == N), what,
             ": expected a square matrix", N > 0 ? " of side " + std::to_string(N) : "",
             ", got ", t.shape_str());
  return t.to_vector<float>();
}

// A dense symmetric 0/1 adjacency (any integer or float dtype) as uint8 N x N.
std::vector<uint8_t> adjacency(const Array& a, int* N) {
  const Tensor t = to_tensor(a, "adj").to(Device::cpu()).to_dtype(DType::f64);
  RSNN_CHECK(t.ndim() == 2 && t.size(0) == t.size(1), "adj: expected a square matrix, got ",
             t.shape_str());
  *N = int(t.size(0));
  const std::vector<double> v = t.to_vector<double>();
  std::vector<uint8_t> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    RSNN_CHECK(v[i] == 0 || v[i] == 1, "adj: entries must be 0 or 1, got ", v[i], " at (",
               i / *N, ", ", i % *N, ")");
    out[i] = uint8_t(v[i]);
  }
  for (int i = 0; i < *N; ++i)
    for (int j = 0; j < i; ++j)
      RSNN_CHECK(out[size_t(i) * *N + j] == out[size_t(j) * *N + i],
                 "adj: not symmetric at (", i, ", ", j, ")");
  return out;
}

void bind_field(nb::module_& m) {
  nb::class_<Field>(m, "Field",
                    "A MICrONS field folder, loaded and checked. Matrices are NumPy views of the "
                    "field (row = presynaptic unit for the connectome).")
      .def_ro("name", &Field::name)
      .def_ro("dir", &Field::dir)
      .def_ro("N", &Field::N)
      .def_prop_ro("grid", [](const Field& f) { return GridTuple{f.grid.nx, f.grid.ny, f.grid.nz}; })
      .def_prop_ro("connectome", [](nb::handle self) {
        Field& f = nb::cast<Field&>(self);
        return view_of(f.connectome.data(), {size_t(f.N), size_t(f.N)}, self);
      }, "Synapse counts (N, N) float64, row = pre, column = post.")
      .def_prop_ro("sttc", [](nb::handle self) {
        Field& f = nb::cast<Field&>(self);
        return view_of(f.sttc.data(), {size_t(f.N), size_t(f.N)}, self);
      }, "Spike-time tiling coefficients (N, N), symmetrized.")
      .def_prop_ro("corr", [](nb::handle self) {
        Field& f = nb::cast<Field&>(self);
        return view_of(f.corr.data(), {size_t(f.N), size_t(f.N)}, self);
      })
      .def_prop_ro("precision", [](nb::handle self) {
        Field& f = nb::cast<Field&>(self);
        return view_of(f.precision.data(), {size_t(f.N), size_t(f.N)}, self);
      })
      .def_prop_ro("positions", [](nb::handle self) {
        Field& f = nb::cast<Field&>(self);
        return view_of(f.positions.data(), {size_t(f.N), size_t(3)}, self);
      }, "Voxel coordinates (N, 3) int64: x, y, z.")
      .def_prop_ro("ids", [](nb::handle self) {
        Field& f = nb::cast<Field&>(self);
        nb::dict d;  // one row per unit
        d["root_id"] = view_of(f.root_ids.data(), {f.root_ids.size()}, self);
        d["unit_id"] = view_of(f.unit_ids.data(), {f.unit_ids.size()}, self);
        d["target_id"] = view_of(f.target_ids.data(), {f.target_ids.size()}, self);
        return d;
      }, "{'root_id', 'unit_id', 'target_id'}: (N,) int64 columns.");
  m.def("load_field",
        [](const std::string& dir, std::optional<GridTuple> grid, const std::string& positions) {
          LoadOptions o;
          if (grid) o.grid = Grid{std::get<0>(*grid), std::get<1>(*grid), std::get<2>(*grid)};
          o.positions_path = positions;
          nb::gil_scoped_release release;
          return load_field(dir, o);
        },
        nb::arg("dir"), nb::arg("grid") = nb::none(), nb::arg("positions") = "",
        "Load a field folder (`<sess>_<scan>_<field>/`). grid (nx, ny, nz) defaults to the "
        "field table of ../INF.md; positions is a plain (N, 3) integer NPY (default: "
        "positions_<name>_plain.npy beside the field).");
  m.def("distance_grid",
        [](int nx, int ny, int nz) {
          const size_t n = size_t(nx) * ny * nz;
          return array_from(distance_grid(nx, ny, nz), {n, n});
        },
        nb::arg("nx"), nb::arg("ny"), nb::arg("nz"), "Euclidean distances (N, N) of the grid.");
  m.def("distance_star",
        [](const Field& f, const std::string& coords) {
          return array_from(distance_star(f.positions, f.N, parse_star_coords(coords, "star")),
                            {size_t(f.N), size_t(f.N)});
        },
        nb::arg("field"), nb::arg("coords") = "coded",
        "Distances D* (N, N) of the normalized soma positions ('coded': the original's "
        "reshape(3, -1); 'intended': the real geometry).");
  m.def("empirical_comms_sorted",
        [](const Field& f) { return array_from(empirical_comms_sorted(f.connectome, f.N)); },
        nb::arg("field"), "The connectome's communicability values (N*N,), sorted ascending.");
}

const char* init_name(InitKind k) {
  return k == InitKind::bio ? "bio" : k == InitKind::permuted_bio ? "permuted_bio" : "orthogonal";
}
const char* dist_name(DistKind k) {
  return k == DistKind::grid ? "grid" : k == DistKind::star ? "star" : "none";
}

void bind_variants(nb::module_& m) {
  m.def("variants",
        [] {
          std::vector<std::string> key, init, reg, dist;
          for (const Variant& v : variants()) {
            key.push_back(v.key);
            init.push_back(init_name(v.init));
            reg.push_back(reg_kind_name(v.reg));
            dist.push_back(dist_name(v.dist));
          }
          nb::dict d;
          d["key"] = key;
          d["init"] = init;
          d["regularizer"] = reg;
          d["distance"] = dist;
          return d;
        },
        "The 11 variants in canonical order: {'key', 'init', 'regularizer', 'distance'} columns.");
}

void bind_config(nb::module_& m) {
  nb::class_<TrainConfig>(m, "TrainConfig",
                          "One run's settings (models/microns/train.h); defaults are the "
                          "original notebook's.")
      .def(nb::init<>())
      .def_prop_rw("task", [](const TrainConfig& c) { return int(c.task); },
                   [](TrainConfig& c, nb::handle t) { c.task = parse_task(nb::str(t).c_str()); },
                   "1 maze, 2 go_nogo, 3 pdm (set with the number or the name).")
      .def_prop_rw("variant", [](const TrainConfig& c) { return c.variant; },
                   [](TrainConfig& c, const std::string& k) { c.variant = variant(k).key; })
      .def_rw("sim", &TrainConfig::sim)
      .def_rw("seed", &TrainConfig::seed)
      .def_rw("epochs", &TrainConfig::epochs)
      .def_rw("batches", &TrainConfig::batches)
      .def_rw("batch", &TrainConfig::batch)
      .def_rw("n_test", &TrainConfig::n_test)
      .def_rw("noise", &TrainConfig::noise)
      .def_rw("lr", &TrainConfig::lr)
      .def_rw("sign_constraint", &TrainConfig::sign_constraint)
      .def_prop_rw("bio",
                   [](const TrainConfig& c) {
                     return c.bio == BioSource::corr_sttc        ? "corr-sttc"
                            : c.bio == BioSource::precision_sttc ? "precision-sttc"
                                                                 : "sttc-only";
                   },
                   [](TrainConfig& c, const std::string& s) { c.bio = parse_bio_source(s, "bio"); })
      .def_prop_rw("star", [](const TrainConfig& c) { return c.star == StarCoords::coded ? "coded" : "intended"; },
                   [](TrainConfig& c, const std::string& s) { c.star = parse_star_coords(s, "star"); })
      .def_rw("l1_apply_lambda", &TrainConfig::l1_apply_lambda)
      .def_prop_rw("expm", [](const TrainConfig& c) { return expm_precision_name(c.expm); },
                   [](TrainConfig& c, const std::string& s) { c.expm = parse_expm_precision(s, "expm"); },
                   "communicability expm precision: 'float32' (the original's) or 'float64'")
      .def_prop_rw("ce", [](const TrainConfig& c) { return ce_form_name(c.ce); },
                   [](TrainConfig& c, const std::string& s) { c.ce = parse_ce_form(s, "ce"); },
                   "cross-entropy: 'logits' (what Keras computes) or 'clipped'")
      .def_rw("lambda_", &TrainConfig::lambda, "regu_strength (lambda)")
      .def_rw("emd_lambda", &TrainConfig::emd_lambda)
      .def_rw("eval_each_epoch", &TrainConfig::eval_each_epoch);

}

void bind_regularizers(nb::module_& m) {
  nb::class_<RegSpec>(m, "Regularizer",
                      "A variant's penalty on W_rec (kind 'W', 'WD', 'WDC', 'WDC_EMD' or 'none').")
      .def_prop_ro("kind", [](const RegSpec& s) { return reg_kind_name(s.kind); })
      .def_ro("N", &RegSpec::N)
      .def_ro("lambda_", &RegSpec::lambda)
      .def_ro("emd_lambda", &RegSpec::emd_lambda)
      .def_ro("l1_apply_lambda", &RegSpec::l1_apply_lambda)
      .def_prop_ro("expm", [](const RegSpec& s) { return expm_precision_name(s.expm); })
      .def("value",
           [](const RegSpec& s, const Array& W) {
             const std::vector<float> w = square_f32(W, s.N, "W");
             return regularizer_value(s, w.data(), nullptr);
           },
           nb::arg("W"), "The penalty at W (N, N); rsnn.Error when it is not finite.")
      .def("value_and_grad",
           [](const RegSpec& s, const Array& W) {
             const std::vector<float> w = square_f32(W, s.N, "W");
             std::vector<float> dW(w.size(), 0.0f);
             const double v = regularizer_value(s, w.data(), dW.data());
             return nb::make_tuple(v, array_from(std::move(dW), {size_t(s.N), size_t(s.N)}));
           },
           nb::arg("W"), "(value, exact gradient dvalue/dW as (N, N) float32).");
  m.def("regularizer",
        [](const Field& f, const TrainConfig& c) {
          FieldCache cache(f);
          return regularizer_spec(cache, c);
        },
        nb::arg("field"), nb::arg("config"),
        "The regularizer of config's variant on `field`, as the trainer builds it.");
  m.def("make_regularizer",
        [](const std::string& kind, int N, double lambda, double emd_lambda, bool l1_apply_lambda,
           const std::optional<Array>& D, const std::optional<Array>& emp_sorted,
           const std::string& expm) {
          RegSpec s;
          s.kind = reg_kind_from_name(kind);
          s.N = N;
          s.lambda = lambda;
          s.emd_lambda = emd_lambda;
          s.l1_apply_lambda = l1_apply_lambda;
          s.expm = parse_expm_precision(expm, "expm");
          if (D) s.D = square_f32(*D, N, "D");
          if (emp_sorted)
            s.emp_sorted = to_tensor(*emp_sorted, "emp_sorted").to(Device::cpu()).to_dtype(DType::f32).to_vector<float>();
          validate(s);
          return s;
        },
        nb::arg("kind"), nb::arg("N"), nb::arg("lambda_") = 0.3, nb::arg("emd_lambda") = 0.1,
        nb::arg("l1_apply_lambda") = false, nb::arg("D") = nb::none(),
        nb::arg("emp_sorted") = nb::none(), nb::arg("expm") = "float32",
        "A regularizer from its parts: D (N, N) distances for WD/WDC/WDC_EMD, emp_sorted "
        "(N*N,) for WDC_EMD; expm 'float32' (the original's tf.linalg.expm) or 'float64'.");
  m.def("initial_weights",
        [](const Field& f, const TrainConfig& c) {
          FieldCache cache(f);
          return array_from(initial_w_rec(cache, c), {size_t(f.N), size_t(f.N)});
        },
        nb::arg("field"), nb::arg("config"),
        "The initial W_rec (N, N) float32 of config's variant, as the trainer draws it.");
  m.def("bio_weights",
        [](const Field& f, const std::string& bio, uint64_t seed, int sim) {
          return array_from(bio_weights(f, parse_bio_source(bio, "bio"), seed, sim), {size_t(f.N), size_t(f.N)});
        },
        nb::arg("field"), nb::arg("bio") = "corr-sttc", nb::arg("seed") = 1, nb::arg("sim") = 0,
        "W_bio (N, N) float32 of simulation `sim` (spec §1a).");
  m.def("communicability",
        [](const Array& W, double eps) {
          const std::vector<float> w = square_f32(W, 0, "W");
          const size_t N = size_t(std::lround(std::sqrt(double(w.size()))));
          return array_from(communicability(w.data(), int(N), eps), {N, N});
        },
        nb::arg("W"), nb::arg("eps") = 0.0,
        "offdiag(expm(S |W| S)), S = diag((rowsum |W| + eps)^-1/2), as (N, N) float64.");
}

void bind_tasks(nb::module_& m) {
  m.def("make_task",
        [](const std::string& task, int n, uint64_t seed, uint64_t stream) {
          RSNN_CHECK(n > 0, "make_task: n must be positive, got ", n);
          TaskData d = make_task(parse_task(task), n, seed, stream);
          nb::dict r;
          r["x"] = array_from(std::move(d.x), {size_t(d.n), size_t(d.T), size_t(d.n_in)});
          r["label"] = array_from(std::move(d.label));
          r["onehot"] = array_from(std::move(d.onehot), {size_t(d.n), size_t(d.n_out)});
          return r;
        },
        nb::arg("task"), nb::arg("n"), nb::arg("seed") = 1, nb::arg("stream") = 0,
        "n trials of task '1'/'maze', '2'/'go_nogo' or '3'/'pdm': {'x': (n, T, n_in), 'label': "
        "(n,), 'onehot': (n, n_out)}; trial k draws only from (seed, stream, k).");
}

nb::dict train_dict(TrainResult&& r) {
  using R = TrainResult;
  nb::dict d = fields(r, column("finite", &R::finite), column("accuracy", &R::accuracy),
                      column("loss", &R::loss), column("val_accuracy", &R::val_accuracy),
                      column("val_loss", &R::val_loss));
  d["epochs"] = columns(r.epochs, column("epoch", &EpochLog::epoch), column("loss", &EpochLog::loss),
                        column("accuracy", &EpochLog::accuracy),
                        column("val_loss", &EpochLog::val_loss),
                        column("val_accuracy", &EpochLog::val_accuracy));
  d["W_rec"] = array_from(std::move(r.W_rec), {size_t(r.N), size_t(r.N)});
  return d;
}

void bind_train(nb::module_& m) {
  m.def("train",
        [](const Field& f, const TrainConfig& c, const std::string& device) {
          const Device dev = parse_device(device);
          TrainResult r;
          {
            nb::gil_scoped_release release;
            r = train_run(f, c, dev);
          }
          return train_dict(std::move(r));
        },
        nb::arg("field"), nb::arg("config"), nb::arg("device") = "cpu",
        "One training run (GaussianNoise -> ReLU RNN -> softmax, CE + the variant's "
        "regularizer, Keras Adam). Returns {'accuracy', 'loss', 'val_accuracy', 'val_loss', "
        "'finite', 'epochs': columns per epoch, 'W_rec': (N, N)}.");
}

nb::dict metrics_dict(const graph::GraphMetrics& g) {
  using G = graph::GraphMetrics;
  return fields(g, column("entropy_bits", &G::entropy_bits), column("threshold_q90", &G::threshold_q90),
                column("n_directed_above", &G::n_directed_above),
                column("n_undirected_edges", &G::n_undirected_edges),
                column("modularity", &G::modularity), column("n_communities", &G::n_communities),
                column("assortativity", &G::assortativity),
                column("clustering_mean", &G::clustering_mean),
                column("global_efficiency", &G::global_efficiency),
                column("smallworld", &G::smallworld));
}

// A function of a checked adjacency matrix (see adjacency) as a binding.
template <class F>
auto on_adjacency(F f) {
  return [f](const Array& adj) {
    int N = 0;
    const std::vector<uint8_t> a = adjacency(adj, &N);
    return f(a, N);
  };
}

void bind_graph(nb::module_& m) {
  m.def("smallworld_null",
        [](int N, int n_nulls, uint64_t seed) {
          RSNN_CHECK(N > 0 && n_nulls > 0, "smallworld_null: N and n_nulls must be positive");
          graph::SmallWorldNull n;
          {
            nb::gil_scoped_release release;
            n = graph::smallworld_null(N, n_nulls, seed);
          }
          return nb::make_tuple(n.clustering, n.efficiency);
        },
        nb::arg("N"), nb::arg("n_nulls") = 1000, nb::arg("seed") = 0,
        "(clustering, efficiency) means over the seRNN random nulls of size N.");
  m.def("graph_metrics",
        [](const Array& W, std::optional<double> null_clustering,
           std::optional<double> null_efficiency, int n_nulls, uint64_t null_seed) {
          const std::vector<float> w = square_f32(W, 0, "W");
          const int N = int(std::lround(std::sqrt(double(w.size()))));
          RSNN_CHECK(null_clustering.has_value() == null_efficiency.has_value(),
                     "graph_metrics: null_clustering and null_efficiency go together");
          graph::GraphMetrics g;
          {
            nb::gil_scoped_release release;
            graph::SmallWorldNull null;
            if (null_clustering) {
              null.N = N;
              null.clustering = *null_clustering;
              null.efficiency = *null_efficiency;
            } else {
              RSNN_CHECK(n_nulls > 0, "graph_metrics: n_nulls must be positive");
              null = graph::smallworld_null(N, n_nulls, null_seed);
            }
            g = graph::graph_metrics(w.data(), N, null);
          }
          return metrics_dict(g);
        },
        nb::arg("W"), nb::arg("null_clustering") = nb::none(),
        nb::arg("null_efficiency") = nb::none(), nb::arg("n_nulls") = 1000,
        nb::arg("null_seed") = 0,
        "The original's metrics of W (N, N): entropy, q90 threshold graph, CNM modularity, "
        "assortativity, clustering, efficiency, small-worldness (null constants given or computed).");
  m.def("threshold_graph",
        [](const Array& W, double thresh) {
          const std::vector<float> w = square_f32(W, 0, "W");
          const size_t N = size_t(std::lround(std::sqrt(double(w.size()))));
          int64_t above = 0;
          return array_from(graph::threshold_graph(w.data(), int(N), thresh, &above), {N, N});
        },
        nb::arg("W"), nb::arg("thresh"),
        "|W| > thresh, OR-symmetrized, no self-loops: adjacency (N, N) uint8.");
  using Adj = const std::vector<uint8_t>&;
  m.def("greedy_modularity_communities",
        on_adjacency([](Adj a, int N) { return graph::greedy_modularity_communities(a, N); }),
        nb::arg("adj"), "Clauset-Newman-Moore communities as networkx 2.8.8 returns them.");
  m.def("modularity",
        [](const Array& adj, const graph::Communities& comms) {
          return on_adjacency([&](Adj a, int N) { return graph::modularity(a, N, comms); })(adj);
        },
        nb::arg("adj"), nb::arg("communities"), "networkx modularity of a partition.");
  m.def("degree_assortativity",
        on_adjacency([](Adj a, int N) { return graph::degree_assortativity(a, N); }),
        nb::arg("adj"), "Pearson r of the degrees at the two ends of every edge.");
  m.def("clustering",
        on_adjacency([](Adj a, int N) { return array_from(graph::clustering_coef_bu(a, N)); }),
        nb::arg("adj"), "bct clustering_coef_bu per node.");
  m.def("global_efficiency", on_adjacency([](Adj a, int N) { return graph::efficiency_bin(a, N); }),
        nb::arg("adj"), "bct efficiency_bin: mean 1/d over ordered pairs i != j.");
  m.def("kde_entropy_bits",
        [](const Array& w, int n_points) {
          const std::vector<float> v =
              to_tensor(w, "w").to(Device::cpu()).to_dtype(DType::f32).to_vector<float>();
          RSNN_CHECK(!v.empty() && n_points >= 2, "kde_entropy_bits: need values and n_points >= 2");
          return graph::kde_entropy_bits(v.data(), int64_t(v.size()), n_points);
        },
        nb::arg("w"), nb::arg("n_points") = 100,
        "Base-2 entropy of a Gaussian KDE (Scott) of w at n_points from min to max.");
}

}  // namespace

void bind_microns(nb::module_& m) {
  nb::module_ s = m.def_submodule("microns", "The MICrONS-constrained RNNs (models/microns).");
  bind_field(s);
  bind_variants(s);
  bind_config(s);
  bind_regularizers(s);
  bind_tasks(s);
  bind_train(s);
  bind_graph(s);
}

}  // namespace rsnn::py
