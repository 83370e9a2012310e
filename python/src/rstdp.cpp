// Bindings of the deep convolutional STDP / R-STDP network (models/rstdp, kernels/rstdp_layer3):
// input coding, layers 1-2 trained by STDP one sample at a time, layer 3 by R-STDP with adaptive
// rates, the test pass, and the whole schedule of `rsnn rstdp train`. Spike waves cross as
// uint8 first-spike times [C, H, W] (15 = never); layer-3 inputs as packed C2 bits, uint64
// [n, 63]. Weights are NumPy views of the layers (writing them changes the layer).
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <string>
#include <tuple>
#include <vector>

#include "models/rstdp/dataset.h"
#include "models/rstdp/encode.h"
#include "models/rstdp/layers12.h"
#include "models/rstdp/train.h"
#include "python/src/convert.h"
#include "python/src/module.h"

namespace rsnn::py {

namespace {

using namespace rsnn::rstdp;
using Bits = nb::ndarray<const uint64_t, nb::ndim<2>, nb::c_contig, nb::device::cpu>;

// A uint8 array of shape [lead..., d1, d2] checked for its trailing dimensions.
Tensor uint8_array(const Array& a, const char* what, int ndim) {
  const Tensor t = to_tensor(a, what).to(Device::cpu());
  RSNN_CHECK(t.dtype() == DType::u8, what, ": expected uint8, got another dtype");
  RSNN_CHECK(t.ndim() == ndim, what, ": expected ", ndim, " dimensions, got ", t.shape_str());
  return t;
}

Wave wave_from(const Array& a, const char* what) {
  const Tensor t = uint8_array(a, what, 3);
  Wave w;
  w.C = int(t.size(0)), w.H = int(t.size(1)), w.W = int(t.size(2));
  w.t.assign(t.data<uint8_t>(), t.data<uint8_t>() + t.numel());
  for (uint8_t v : w.t)
    RSNN_CHECK(v <= kNever, what, ": first-spike time ", int(v), " outside 0..", int(kNever));
  return w;
}

nb::object wave_to(Wave&& w) {
  const std::vector<size_t> shape{size_t(w.C), size_t(w.H), size_t(w.W)};
  return array_from(std::move(w.t), shape);
}

nb::dict winners_dict(const std::vector<sw::Winner>& ws) {
  using W = sw::Winner;
  return columns(ws, column("feature", &W::f), column("y", &W::y), column("x", &W::x),
                 column("t", &W::t), column("pot", &W::pot));
}

// The bits of a [n, 63] array with n matching `labels` (when given).
int64_t bits_rows(const Bits& b, int64_t n_labels) {
  RSNN_CHECK(b.shape(1) == size_t(kL3Words), "bits: expected [n, ", kL3Words, "] uint64, got [",
             b.shape(0), ", ", b.shape(1), "]");
  RSNN_CHECK(n_labels < 0 || int64_t(b.shape(0)) == n_labels, "bits: ", b.shape(0),
             " rows for ", n_labels, " labels");
  return int64_t(b.shape(0));
}

std::vector<int> labels_of(const Array& a) {
  const Tensor t = to_tensor(a, "labels").to(Device::cpu());
  RSNN_CHECK(t.ndim() == 1, "labels: expected 1-D, got ", t.shape_str());
  std::vector<int> v = t.to_vector<int>();
  for (int l : v) RSNN_CHECK(l >= 0 && l <= 9, "labels: value ", l, " outside 0..9");
  return v;
}

void bind_coding(nb::module_& m) {
  m.attr("STEPS") = kSteps;
  m.def("encode_image",
        [](const Array& img) {
          const Tensor t = uint8_array(img, "image", 2);
          return wave_to(encode_image(t.data<uint8_t>(), int(t.size(0)), int(t.size(1))));
        },
        nb::arg("image"),
        "rows x cols uint8 -> DoG(6), threshold 50, local normalization, 15-step latency, "
        "padded by 2: first-spike times [6, rows+4, cols+4] (15 = never).");
  m.def("encode_images",
        [](const Array& imgs) {
          const Tensor t = uint8_array(imgs, "images", 3);
          const int rows = int(t.size(1)), cols = int(t.size(2));
          std::vector<Wave> ws;
          {
            nb::gil_scoped_release release;
            ws = encode_images(t.data<uint8_t>(), t.size(0), rows, cols);
          }
          std::vector<uint8_t> all;
          for (const Wave& w : ws) all.insert(all.end(), w.t.begin(), w.t.end());
          return array_from(std::move(all), {size_t(t.size(0)), 6, size_t(rows + 4), size_t(cols + 4)});
        },
        nb::arg("images"), "encode_image over images [n, rows, cols]: [n, 6, rows+4, cols+4].");
  m.def("dog_normalized",
        [](const Array& img) {
          const Tensor t = uint8_array(img, "image", 2);
          const size_t r = size_t(t.size(0)), c = size_t(t.size(1));
          return array_from(dog_normalized(t.data<uint8_t>(), int(r), int(c)), {6, r, c});
        },
        nb::arg("image"), "The six DoG responses [6, rows, cols] before the latency coding.");
  m.def("load_split",
        [](const std::string& dir, const std::string& split, int64_t first, int64_t count) {
          Dataset d = load_split(dir, split, first, count);
          nb::dict r;
          r["name"] = d.name;
          r["images"] = array_from(std::move(d.images), {size_t(d.n), size_t(d.rows), size_t(d.cols)});
          r["labels"] = array_from(std::move(d.labels));
          return r;
        },
        nb::arg("dir"), nb::arg("split") = "train", nb::arg("first") = 0, nb::arg("count") = -1,
        "Images [n, rows, cols] uint8 and labels of split 'train' or 't10k' of an MNIST-format "
        "folder (IDX files, gzip or plain).");
}

void bind_layers12(nb::module_& m) {
  nb::class_<Layers12>(m, "Layers12", "Layers 1 and 2 (conv 5x5x30 and 3x3x250) with their STDP schedules.")
      .def_prop_ro("w1", [](nb::handle self) {
        Layers12& L = nb::cast<Layers12&>(self);
        return view_of(L.w1.data(), {30, 6, 5, 5}, self);
      }, "conv1 weights [30, 6, 5, 5] (a view; call refresh() after writing).")
      .def_prop_ro("w2", [](nb::handle self) {
        Layers12& L = nb::cast<Layers12&>(self);
        return view_of(L.w2.data(), {250, 30, 3, 3}, self);
      }, "conv2 weights [250, 30, 3, 3] (a view; call refresh() after writing).")
      .def("refresh", &Layers12::refresh_transposed, "Resync the fast path after editing w1/w2.")
      .def_prop_ro("rates", [](const Layers12& L) {
        return nb::make_tuple(nb::make_tuple(L.rates1.a_plus, L.rates1.a_minus, L.rates1.counter),
                              nb::make_tuple(L.rates2.a_plus, L.rates2.a_minus, L.rates2.counter));
      }, "((a+, a-, counter) of layer 1, (a+, a-, counter) of layer 2).");
  m.def("make_layers12", &make_layers12, nb::arg("seed") = 1, "Weights N(0.8, 0.05) keyed by seed.");
  m.def("stdp_step_layer1",
        [](Layers12& L, const Array& wave) {
          const Wave w = wave_from(wave, "wave");
          nb::gil_scoped_release release;
          return stdp_step_layer1(L, w);
        },
        nb::arg("layers"), nb::arg("wave"),
        "One STDP step of layer 1 on an encoded sample [6, 32, 32]; returns the winners.");
  m.def("stdp_step_layer2",
        [](Layers12& L, const Array& wave) {
          const Wave w = wave_from(wave, "wave");
          nb::gil_scoped_release release;
          return stdp_step_layer2(L, w);
        },
        nb::arg("layers"), nb::arg("wave"), "One STDP step of layer 2 (layer 1 frozen).");
  m.def("winners_table", &winners_dict, nb::arg("winners"),
        "Winners as columns {'feature', 'y', 'x', 't', 'pot'}.");
  nb::class_<sw::Winner>(m, "Winner", "A k-WTA winner: feature f at (y, x), first spike t.")
      .def_ro("f", &sw::Winner::f)
      .def_ro("y", &sw::Winner::y)
      .def_ro("x", &sw::Winner::x)
      .def_ro("t", &sw::Winner::t)
      .def_ro("pot", &sw::Winner::pot);
  m.def("c2_output",
        [](const Layers12& L, const Array& wave) {
          const Wave w = wave_from(wave, "wave");
          Wave c2;
          {
            nb::gil_scoped_release release;
            c2 = c2_output(L, w);
          }
          return wave_to(std::move(c2));
        },
        nb::arg("layers"), nb::arg("wave"), "The C2 map [250, 8, 8] (first-spike times, padded by 2).");
  m.def("c2_bits",
        [](const Layers12& L, const Array& images) {
          const Tensor t = uint8_array(images, "images", 3);
          Dataset d;
          d.name = "images";
          d.n = t.size(0), d.rows = int(t.size(1)), d.cols = int(t.size(2));
          d.images.assign(t.data<uint8_t>(), t.data<uint8_t>() + t.numel());
          std::vector<uint64_t> b;
          {
            nb::gil_scoped_release release;
            b = c2_bits(L, d);
          }
          return array_from(std::move(b), {size_t(d.n), size_t(kL3Words)});
        },
        nb::arg("layers"), nb::arg("images"),
        "Layer 3's input of images [n, 28, 28]: which C2 neurons ever spiked, uint64 [n, 63].");
  m.def("reconstruct_layer1",
        [](const Layers12& L) { return array_from(reconstruct_layer1(L), {30, 17, 17}); },
        nb::arg("layers"), "Layer-1 features in the image plane [30, 17, 17].");
}

void bind_layer3(nb::module_& m) {
  nb::class_<Layer3>(m, "Layer3", "Layer 3: 200 features of 250x5x5 (class = feature / 20).")
      .def_prop_ro("w", [](nb::handle self) {
        Layer3& l = nb::cast<Layer3&>(self);
        return view_of(l.w.data(), {200, 250, 5, 5}, self);
      }, "Weights [200, 250, 5, 5] (a view).");
  m.def("make_layer3", &make_layer3, nb::arg("seed") = 1, "Weights N(0.8, 0.05) keyed by seed.");
  nb::class_<RStdpRates>(m, "RStdpRates", "The four R-STDP rates (reward and punishment LTP/LTD).")
      .def(nb::init<>())
      .def_prop_ro("reward", [](const RStdpRates& r) { return std::tuple<float, float>{r.reward.ltp, r.reward.ltd}; })
      .def_prop_ro("punish", [](const RStdpRates& r) { return std::tuple<float, float>{r.punish.ltp, r.punish.ltd}; });
  m.def("adapt_rates", &adapt_rates, nb::arg("correct_fraction"), nb::arg("wrong_fraction"),
        "Adaptive rates after a batch: reward rates x wrong fraction, punishment x correct.");

}

void bind_layer3_trainer(nb::module_& m) {
  nb::class_<Layer3Fast>(m, "Layer3Trainer",
                         "Layer 3 under R-STDP (the exact fast path); holds its own weights.")
      .def(nb::init<const Layer3&, int>(), nb::arg("layer"), nb::arg("batch") = 32)
      .def_prop_ro("layer", &Layer3Fast::layer, "A copy of the current weights.")
      .def("train",
           [](Layer3Fast& f, const Bits& bits, const Array& labels, const RStdpRates& rates) {
             const std::vector<int> l = labels_of(labels);
             const int64_t n = bits_rows(bits, int64_t(l.size()));
             std::vector<L3Outcome> o;
             {
               nb::gil_scoped_release release;
               o = f.train(bits.data(), l.data(), n, rates);
             }
             std::vector<int8_t> v;
             for (L3Outcome x : o) v.push_back(int8_t(x));
             return array_from(std::move(v));
           },
           nb::arg("bits"), nb::arg("labels"), nb::arg("rates"),
           "R-STDP over the samples in order with fixed rates: outcome per sample (0 correct, "
           "1 wrong, 2 silence).")
      .def("epoch",
           [](Layer3Fast& f, const Bits& bits, const Array& labels, RStdpRates rates, int adapt_every) {
             RSNN_CHECK(adapt_every >= 1, "epoch: adapt_every must be >= 1, got ", adapt_every);
             const std::vector<int> l = labels_of(labels);
             const int64_t n = bits_rows(bits, int64_t(l.size()));
             double acc;
             {
               nb::gil_scoped_release release;
               acc = layer3_epoch(f, rates, bits.data(), l.data(), n, adapt_every, nullptr);
             }
             return nb::make_tuple(acc, rates);
           },
           nb::arg("bits"), nb::arg("labels"), nb::arg("rates"), nb::arg("adapt_every") = 1000,
           "One epoch in batches of adapt_every with adaptive rates: (train accuracy, next rates).")
      .def("infer",
           [](const Layer3Fast& f, const Bits& bits, int threads) {
             const int64_t n = bits_rows(bits, -1);
             std::vector<L3Decision> d;
             {
               nb::gil_scoped_release release;
               d = f.infer(bits.data(), n, threads);
             }
             std::vector<int> cls;
             for (const L3Decision& x : d) cls.push_back(x.cls());
             return array_from(std::move(cls));
           },
           nb::arg("bits"), nb::arg("threads") = 1, "The decided class per sample (-1: silence).")
      .def("test",
           [](const Layer3Fast& f, const Bits& bits, const Array& labels, int threads) {
             const std::vector<int> l = labels_of(labels);
             const int64_t n = bits_rows(bits, int64_t(l.size()));
             TestResult r;
             {
               nb::gil_scoped_release release;
               r = test_layer3(f, bits.data(), l.data(), n, threads);
             }
             nb::dict d;
             d["correct"] = r.correct;
             d["wrong"] = r.wrong;
             d["silence"] = r.silence;
             d["n"] = r.n;
             d["confusion"] = array_from(std::move(r.confusion), {10, 11});
             return d;
           },
           nb::arg("bits"), nb::arg("labels"), nb::arg("threads") = 1,
           "Fractions correct / wrong / silence and the confusion [label, silence + class 0..9].");
}

// -1 where not measured (layers 1-2), as history.csv leaves blank.
nb::dict history_dict(const std::vector<EpochRecord>& h) {
  using E = EpochRecord;
  return columns(h, column("epoch", &E::epoch), column("layer", &E::layer),
                 column("train_acc", &E::train_acc), column("test_acc", &E::test_acc),
                 column("test_silence", &E::test_silence), column("seconds", &E::seconds));
}

void bind_schedule(nb::module_& m) {
  nb::class_<TrainState>(m, "TrainState", "A run's layers, rates and history (checkpoint.h5).")
      .def_ro("layers12", &TrainState::l12)
      .def_ro("layer3", &TrainState::l3)
      .def_ro("best_layer3", &TrainState::best_l3)
      .def_ro("rates", &TrainState::rates)
      .def_ro("done1", &TrainState::done1)
      .def_ro("done2", &TrainState::done2)
      .def_ro("done3", &TrainState::done3)
      .def_ro("best_test", &TrainState::best_test)
      .def_ro("best_epoch", &TrainState::best_epoch)
      .def_prop_ro("history", [](const TrainState& s) { return history_dict(s.history); },
                   "Per-epoch columns (epoch, layer, train_acc, test_acc, test_silence, seconds).");
  m.def("train",
        [](const std::string& data_dir, const std::string& out_dir, int64_t train_subset,
           int64_t test_subset, int epochs1, int epochs2, int epochs3, uint64_t seed, int batch,
           int adapt_every, int threads) {
          TrainConfig c;
          c.data_dir = data_dir;
          c.out_dir = out_dir;
          c.train_subset = train_subset;
          c.test_subset = test_subset;
          c.epochs1 = epochs1, c.epochs2 = epochs2, c.epochs3 = epochs3;
          c.seed = seed;
          c.batch3 = batch;
          c.adapt_every = adapt_every;
          c.threads = threads;
          c.progress = false;
          c.plots = false;
          nb::gil_scoped_release release;
          return train_rstdp(c);
        },
        nb::arg("data_dir"), nb::arg("out_dir"), nb::arg("train_subset") = 0,
        nb::arg("test_subset") = 0, nb::arg("epochs1") = 2, nb::arg("epochs2") = 4,
        nb::arg("epochs3") = 680, nb::arg("seed") = 1, nb::arg("batch") = 32,
        nb::arg("adapt_every") = 1000, nb::arg("threads") = 0,
        "The schedule of `rsnn rstdp train` (no progress bar, no plots): resumes from "
        "out_dir/checkpoint.h5 when present.");
  m.def("load_checkpoint", &load_checkpoint, nb::arg("path"), "The state in a run's checkpoint.h5.");
}

}  // namespace

void bind_rstdp(nb::module_& m) {
  nb::module_ s = m.def_submodule("rstdp", "The convolutional STDP / R-STDP network (models/rstdp).");
  bind_coding(s);
  bind_layers12(s);
  bind_layer3(s);
  bind_layer3_trainer(s);
  bind_schedule(s);
}

}  // namespace rsnn::py
