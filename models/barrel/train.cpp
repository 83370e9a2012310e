#include "models/barrel/train.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "autograd/data_parallel.h"
#include "autograd/ops.h"
#include "models/barrel/anatomy.h"
#include "runtime/atomic_file.h"
#include "runtime/hdf5_io.h"
#include "runtime/philox.h"
#include "runtime/progress.h"

namespace rsnn::barrel {

std::string form_name(InputForm f) { return f == InputForm::spiking ? "spiking" : "real"; }

InputForm parse_form(const std::string& s) {
  if (s == "spiking") return InputForm::spiking;
  if (s == "real") return InputForm::real;
  RSNN_FAIL("unknown model form '", s, "': expected spiking or real");
}

EncodedSet encode_for(const BarrelConfig& cfg, const WhiskerData& d, uint64_t seed) {
  EncodedSet s;
  s.x = cfg.form == InputForm::spiking ? encode_spikes(d, seed) : encode_real(d);
  s.labels = d.label.to_dtype(DType::i64);
  return s;
}

Tensor make_batch(const BarrelConfig& cfg, const EncodedSet& set, const std::vector<int64_t>& index) {
  const int64_t T = cfg.T, B = static_cast<int64_t>(index.size());
  for (int64_t i : index)
    RSNN_CHECK(i >= 0 && i < set.size(), "make_batch: sample ", i, " out of range [0, ", set.size(), ")");
  if (cfg.form == InputForm::spiking) {
    // [N, 2, steps, 93] uint8 -> [T, B, 186] float (force features, then torque)
    RSNN_CHECK(set.x.dtype() == DType::u8 && set.x.ndim() == 4 && set.x.size(1) == 2 &&
                   set.x.size(3) == 93,
               "make_batch: spiking data must be uint8 [N, 2, steps, 93], got ", set.x.describe());
    const int64_t steps = set.x.size(2);
    RSNN_CHECK(T <= steps, "make_batch: model T = ", T, " but the data has ", steps, " steps");
    Tensor out = Tensor::empty({T, B, 186}, DType::f32);
    const uint8_t* x = set.x.data<uint8_t>();
    float* o = out.data<float>();
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t b = 0; b < B; ++b)
        for (int64_t c = 0; c < 2; ++c) {
          const uint8_t* src = x + ((index[b] * 2 + c) * steps + t) * 93;
          float* dst = o + (t * B + b) * 186 + c * 93;
          for (int64_t k = 0; k < 93; ++k) dst[k] = src[k];
        }
    return out;
  }
  RSNN_CHECK(set.x.dtype() == DType::f32 && set.x.ndim() == 3 && set.x.size(2) == 558,
             "make_batch: real-valued data must be float32 [N, frames, 558], got ", set.x.describe());
  const int64_t frames = set.x.size(1);
  RSNN_CHECK(T <= frames, "make_batch: model T = ", T, " but the data has ", frames, " frames");
  Tensor out = Tensor::empty({T, B, 558}, DType::f32);
  const float* x = set.x.data<float>();
  float* o = out.data<float>();
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t t = 0; t < T; ++t)
    for (int64_t b = 0; b < B; ++b)
      std::copy_n(x + (index[b] * frames + t) * 558, 558, o + (t * B + b) * 558);
  return out;
}

Tensor batch_labels(const EncodedSet& set, const std::vector<int64_t>& index) {
  Tensor l = Tensor::empty({static_cast<int64_t>(index.size())}, DType::i64);
  const int64_t* src = set.labels.data<int64_t>();
  for (size_t i = 0; i < index.size(); ++i) l.data<int64_t>()[i] = src[index[i]];
  return l;
}

double forward_bytes_estimate(const BarrelConfig& cfg, int64_t batch, bool training) {
  const double N = double(kNetworkNeurons), F = double(cfg.input_features());
  const double per_step = training ? 6 * N + 2 * kReadoutNeurons + 16 * F + 4096
                                   : 2 * N + kReadoutNeurons + 8 * F + 2048;
  const double base = 200e6 + 14 * 1.3e6;  // program, parameters, ~1.3 M synapses' tables
  return base + double(batch) * double(cfg.T) * per_step;
}

void check_batch_sizes(const BarrelModel& model, int64_t n, int64_t batch) {
  model.check_batch_size(std::min(n, batch));
  if (n > batch && n % batch) model.check_batch_size(n % batch);
}

void check_batch_shards(int64_t n, int64_t batch, int shards, const std::string& what, int ranks) {
  RSNN_CHECK(n > 0 && batch > 0, "check_batch_shards: ", n, " samples in batches of ", batch);
  if (ranks == 0) ranks = dist::size();
  try {
    dist::check_shards(std::min(n, batch), shards, ranks, "--shards");
  } catch (const Error& e) {
    throw Error(std::string(e.what()) + " (" + what + ")");
  }
  const int s = shards == 0 ? ranks : shards;
  const int64_t last = n % batch;
  RSNN_CHECK(n <= batch || last == 0 || last >= s, "--shards ", s, " is more than the last batch of ",
             what, ": ", n, " samples in batches of ", batch, " leave ", last,
             " (every shard needs one sample; change --batch or --shards)");
}

namespace {

// One shard's forward: the samples idx[s.begin, s.end) of the batch idx, with the rows of
// the whole batch's initial state.
struct ShardOutcome {
  ForwardResult f;
  double loss = 0;  // the shard's mean
  int64_t correct = 0;
  std::vector<int64_t> pred;
};
ShardOutcome forward_shard(BarrelModel& model, const EncodedSet& set, const std::vector<int64_t>& idx,
                           dist::Range s) {
  const std::vector<int64_t> part(idx.begin() + s.begin, idx.begin() + s.end);
  const Tensor labels = batch_labels(set, part);
  ShardOutcome o;
  o.f = model.forward(make_batch(model.config(), set, part), labels, false,
                      BatchRows{s.begin, int64_t(idx.size())});
  o.loss = o.f.loss.value().item<double>();
  o.pred = predictions(o.f.outputs.value());
  for (size_t i = 0; i < part.size(); ++i) o.correct += o.pred[i] == labels.data<int64_t>()[i];
  return o;
}

// A batch of B cut into `shards`: this rank's part of a plan over all ranks, or (not
// across ranks) every shard on this rank.
dist::ShardPlan eval_plan(int64_t B, int shards, bool across_ranks) {
  if (across_ranks) return dist::plan_shards(B, shards);
  dist::ShardPlan p;
  p.batch = B;
  p.shards = shards == 0 ? 1 : shards;
  p.local_shards = p.shards;
  return p;
}

// Per-shard statistics (n each, shards back to back) added in shard order, as
// ag::sum_shard_stats does across ranks.
std::vector<double> sum_local_stats(const std::vector<double>& v, size_t n) {
  std::vector<double> out(v.begin(), v.begin() + n);
  for (size_t k = n; k < v.size(); k += n)
    for (size_t i = 0; i < n; ++i) out[i] += v[k + i];
  return out;
}

}  // namespace

EvalResult evaluate(BarrelModel& model, const EncodedSet& set, int64_t batch,
                    const std::function<void(int64_t, int64_t)>& progress, int shards,
                    bool across_ranks) {
  RSNN_CHECK(batch > 0, "evaluate: batch must be > 0");
  RSNN_CHECK(set.size() > 0, "evaluate: the data set holds no samples");
  check_batch_sizes(model, set.size(), batch);  // before the work, not at the last batch
  check_batch_shards(set.size(), batch, shards, "the evaluated set", across_ranks ? 0 : 1);
  ag::NoGradGuard no_grad;
  EvalResult r;
  double loss_sum = 0;
  int64_t correct = 0;
  for (int64_t start = 0; start < set.size(); start += batch) {
    std::vector<int64_t> idx;
    for (int64_t i = start; i < std::min(set.size(), start + batch); ++i) idx.push_back(i);
    const dist::ShardPlan plan = eval_plan(int64_t(idx.size()), shards, across_ranks);
    std::vector<double> stats;  // per local shard: loss sum, correct
    std::vector<int64_t> mine;  // this rank's predictions: its shards are contiguous samples
    for (int k = 0; k < plan.local_shards; ++k) {
      const dist::Range s = plan.samples(plan.first_shard + k);
      const ShardOutcome o = forward_shard(model, set, idx, s);
      stats.push_back(o.loss * double(s.size()));
      stats.push_back(double(o.correct));
      mine.insert(mine.end(), o.pred.begin(), o.pred.end());
    }
    const std::vector<double> sum =
        across_ranks ? ag::sum_shard_stats(stats, plan.local_shards, 2) : sum_local_stats(stats, 2);
    loss_sum += sum[0];
    correct += int64_t(sum[1]);
    if (across_ranks) {
      const std::vector<uint8_t> all = dist::allgather_bytes(mine.data(), mine.size() * sizeof(int64_t), nullptr);
      RSNN_CHECK(all.size() == idx.size() * sizeof(int64_t), "evaluate: gathered ", all.size(),
                 " bytes of predictions for ", idx.size(), " samples");
      mine.resize(idx.size());
      std::memcpy(mine.data(), all.data(), all.size());
    }
    r.predictions.insert(r.predictions.end(), mine.begin(), mine.end());
    if (progress) progress(start + int64_t(idx.size()), set.size());
  }
  r.samples = set.size();
  r.loss = r.samples ? loss_sum / double(r.samples) : 0;
  r.accuracy = r.samples ? double(correct) / double(r.samples) : 0;
  return r;
}

namespace {

// Fisher-Yates with Philox draws keyed by (seed, epoch): the same order for the same epoch.
std::vector<int64_t> permutation(int64_t n, uint64_t seed, int64_t epoch) {
  std::vector<int64_t> p(n);
  for (int64_t i = 0; i < n; ++i) p[i] = i;
  for (int64_t i = n - 1; i > 0; --i) {
    const double u = philox::uniform_f64(seed, 1000 + static_cast<uint64_t>(epoch), i);
    std::swap(p[i], p[static_cast<int64_t>(u * double(i + 1))]);
  }
  return p;
}

const char* const kLogHeader = "epoch,train_loss,train_accuracy,test_loss,test_accuracy,lr,seconds\n";

// The header and the rows of epochs 1..epoch of an existing log: rows after the checkpoint's
// epoch (written before a kill, or since the last checkpoint) are recomputed by the resumed run.
std::string log_up_to_epoch(const std::string& path, int64_t epoch) {
  std::ifstream in(path);
  if (!in.good()) return kLogHeader;
  std::string text = kLogHeader, line;
  bool header = true;
  while (std::getline(in, line)) {
    if (header) {
      header = false;
      continue;
    }
    if (line.empty()) continue;
    char* end = nullptr;
    const long long e = std::strtoll(line.c_str(), &end, 10);
    RSNN_CHECK(end != line.c_str() && *end == ',', path, ": cannot read the epoch of row '", line, "'");
    if (e >= 1 && e <= epoch) text += line + "\n";
  }
  return text;
}

std::string order_name(UpdateOrder o) { return o == UpdateOrder::gauss_seidel ? "gauss_seidel" : "previous_step"; }
std::string loss_name(LossKind l) { return l == LossKind::seed ? "seed" : "plain"; }

// One optimizer step on the batch `idx`: forward and backward shard by shard (each shard's
// mean loss weighted by its share, so the shards add up to the batch mean), the gradients
// summed in shard order on every rank, then Adam. Returns the batch's loss sum and correct
// count, summed in shard order (the same on every rank).
std::vector<double> train_step(BarrelModel& model, ag::Adam& adam, const std::vector<ag::Var>& params,
                               const EncodedSet& set, const std::vector<int64_t>& idx, int shards,
                               int64_t epoch, int64_t batch_no) {
  const int64_t B = int64_t(idx.size());
  const dist::ShardPlan plan = dist::plan_shards(B, shards);
  std::vector<double> stats(size_t(plan.local_shards) * 2);
  ag::shard_gradients(plan, params, [&](int shard, dist::Range s) {
    const ShardOutcome o = forward_shard(model, set, idx, s);
    RSNN_CHECK(std::isfinite(o.loss), "train: loss became ", o.loss, " at epoch ", epoch + 1, ", batch ",
               batch_no + 1, plan.shards > 1 ? ", shard " + std::to_string(shard + 1) : "");
    // A whole-batch shard is left unscaled: --shards 1 steps exactly as before sharding.
    ag::backward(s.size() == B ? o.f.loss : ag::scale(o.f.loss, double(s.size()) / double(B)));
    const size_t k = size_t(shard - plan.first_shard) * 2;
    stats[k] = o.loss * double(s.size());
    stats[k + 1] = double(o.correct);
  });
  adam.step();
  adam.zero_grad();
  return ag::sum_shard_stats(stats, plan.local_shards, 2);
}

// Where a run writes (rank 0 only; empty paths: nothing is written), and its log so far.
struct RunFiles {
  std::string ckpt, log_path, log_text;
};
RunFiles open_run_files(const TrainOptions& opt, int64_t start_epoch) {
  RunFiles r;
  if (opt.run_dir.empty() || !dist::is_root()) return r;
  r.ckpt = opt.run_dir + "/checkpoint.h5";
  r.log_path = opt.run_dir + "/log.csv";
  std::error_code ec;
  std::filesystem::create_directories(opt.run_dir, ec);
  RSNN_CHECK(!ec, "cannot create run directory '", opt.run_dir, "': ", ec.message());
  // Temporary files of killed runs (a kill between write and rename) would pile up.
  remove_stale_temps(r.ckpt);
  remove_stale_temps(r.log_path);
  r.log_text = opt.resume ? log_up_to_epoch(r.log_path, start_epoch) : kLogHeader;
  return r;
}

}  // namespace

TrainSummary train(BarrelModel& model, const EncodedSet& train_set, const EncodedSet& test_set,
                   const TrainOptions& opt) {
  RSNN_CHECK(opt.epochs >= 0 && opt.batch > 0 && opt.lr > 0 && opt.checkpoint_every > 0,
             "train: bad options (epochs ", opt.epochs, ", batch ", opt.batch, ", lr ", opt.lr,
             ", checkpoint_every ", opt.checkpoint_every, ")");
  RSNN_CHECK(train_set.size() > 0, "train: empty training set");
  check_batch_sizes(model, train_set.size(), opt.batch);
  check_batch_shards(train_set.size(), opt.batch, opt.shards, "the training set");
  if (test_set.size() > 0) {
    check_batch_sizes(model, test_set.size(), opt.batch);
    check_batch_shards(test_set.size(), opt.batch, opt.shards, "the test set");
  }
  ag::Adam adam(model.param_groups(opt.lr));
  ag::StepLR sched(adam, opt.step_size, opt.gamma);
  int64_t start_epoch = 0;
  if (opt.resume) {
    const std::string ckpt = opt.run_dir + "/checkpoint.h5";
    RSNN_CHECK(!opt.run_dir.empty() && std::filesystem::exists(ckpt), "train --resume: no checkpoint at ",
               opt.run_dir.empty() ? "(no run directory)" : ckpt);
    start_epoch = load_training_state(ckpt, adam, sched);  // every rank reads the same file
  }
  RunFiles files = open_run_files(opt, start_epoch);
  std::vector<ag::Var> params;
  for (const auto& [name, v] : model.named_parameters()) params.push_back(v);

  TrainSummary sum;
  const auto t0 = std::chrono::steady_clock::now();
  const int64_t n = train_set.size();
  const int64_t batches = (n + opt.batch - 1) / opt.batch;
  ProgressBar bar("train", (opt.epochs - start_epoch) * batches, "batch");
  int64_t done = 0;
  for (int64_t epoch = start_epoch; epoch < opt.epochs; ++epoch) {
    const auto e0 = std::chrono::steady_clock::now();
    const std::vector<int64_t> perm = permutation(n, model.config().seed, epoch);
    double loss_sum = 0;
    int64_t correct = 0;
    for (int64_t b = 0; b < batches; ++b) {
      const std::vector<int64_t> idx(perm.begin() + b * opt.batch, perm.begin() + std::min(n, (b + 1) * opt.batch));
      const std::vector<double> st = train_step(model, adam, params, train_set, idx, opt.shards, epoch, b);
      const double loss = st[0] / double(idx.size());  // exact for one shard: st[0] = mean * B
      correct += int64_t(st[1]);
      loss_sum += st[0];
      if (done++ == 0) sum.first_loss = loss;
      sum.last_loss = loss;
      if (opt.progress)
        bar.update(done, {{"epoch", double(epoch + 1)}, {"loss", loss},
                          {"acc", double(correct) / double(std::min(n, (b + 1) * opt.batch))}});
    }
    sched.step();
    const EvalResult test = test_set.size() ? evaluate(model, test_set, opt.batch, {}, opt.shards) : EvalResult{};
    sum.last_train_accuracy = double(correct) / double(n);
    sum.last_test_accuracy = test.accuracy;
    sum.epochs_run++;
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - e0).count();
    if (opt.progress) {
      bar.update(done, {{"epoch", double(epoch + 1)}, {"loss", loss_sum / double(n)},
                        {"acc", sum.last_train_accuracy}, {"test_acc", test.accuracy}});
    }
    if (!files.log_path.empty()) {
      std::ostringstream row;
      row << epoch + 1 << ',' << loss_sum / double(n) << ',' << sum.last_train_accuracy << ','
          << test.loss << ',' << test.accuracy << ',' << adam.groups()[0].lr << ',' << secs << '\n';
      files.log_text += row.str();
      // The checkpoint first: a kill before the log's rename loses a row that --resume
      // recomputes, never a row for an epoch the checkpoint does not hold.
      if ((epoch + 1) % opt.checkpoint_every == 0 || epoch + 1 == opt.epochs)
        save_checkpoint(files.ckpt, model, &adam, epoch + 1, sched.last_epoch(), test.accuracy);
      write_text_atomic(files.log_path, files.log_text);
    }
  }
  if (opt.progress) bar.finish({{"loss", sum.last_loss}, {"test_acc", sum.last_test_accuracy}});
  sum.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return sum;
}

void save_checkpoint(const std::string& path, const BarrelModel& model, const ag::Adam* adam,
                     int64_t epoch, int64_t scheduler_epoch, double test_accuracy) {
  const BarrelConfig& c = model.config();
  H5File f = H5File::create(path);
  f.set_attr("/", "format", "rsnn-barrel");
  f.set_attr("/", "version", int64_t(1));
  f.set_attr("/", "form", form_name(c.form));
  f.set_attr("/", "T", c.T);
  f.set_attr("/", "init_b", c.init_b);
  f.set_attr("/", "init_w", c.init_w);
  f.set_attr("/", "tau_m_init", c.tau_m_init);
  f.set_attr("/", "tau_adp_init", c.tau_adp_init);
  f.set_attr("/", "beta", c.beta);
  f.set_attr("/", "order", order_name(c.order));
  f.set_attr("/", "loss", loss_name(c.loss));
  f.set_attr("/", "seed", static_cast<int64_t>(c.seed));
  f.set_attr("/", "epoch", epoch);
  f.set_attr("/", "test_accuracy", test_accuracy);
  for (const auto& [name, v] : model.named_parameters()) f.write("/params/" + name, v.value());
  f.write("/b_base", model.b_base());
  const Projection& p = model.projection();
  f.write("/projection/post_ptr", p.post_ptr);
  f.write("/projection/pre_idx", p.pre_idx);
  f.write("/projection/source_sign", p.source_sign);
  f.create_group("/scheduler");
  f.set_attr("/scheduler", "last_epoch", scheduler_epoch);
  for (const auto& [B, vs] : model.stored_initial_states()) {
    const std::string g = "/init_state/" + std::to_string(B);
    f.write(g + "/v0", vs.first);
    f.write(g + "/s0", vs.second);
  }
  if (adam) {
    const ag::AdamState st = adam->state();
    f.create_group("/optimizer");
    f.set_attr("/optimizer", "steps", st.steps);
    for (size_t k = 0; k < st.params.size(); ++k) {
      const std::string g = "/optimizer/" + std::to_string(k);
      f.write(g + "/m", st.params[k].m);
      f.write(g + "/v", st.params[k].v);
      f.set_attr(g, "step", st.params[k].step);
    }
  }
  f.close();
}

namespace {

// /init_state/<B>/{v0, s0}: the seed's initial draws per batch size (tools/convert_torch_barrel.py).
void load_initial_states(const H5File& f, const std::string& path, BarrelModel& model) {
  const int64_t N = kNetworkNeurons;
  const std::vector<std::string> names = f.list("/init_state");
  RSNN_CHECK(!names.empty(), path, ": /init_state holds no batch size");
  for (const std::string& name : names) {
    const std::string g = "/init_state/" + name;
    int64_t B = 0;
    for (char ch : name) B = (ch >= '0' && ch <= '9' && B < (int64_t(1) << 40)) ? 10 * B + (ch - '0') : -1;
    RSNN_CHECK(B > 0 && name[0] != '0' && f.is_group(g), path, ": ", g,
               " is not a group named by a batch size (a positive integer)");
    const Tensor v0 = f.read_checked(g + "/v0", {B, N}, DType::f32);
    const Tensor s0 = f.read_checked(g + "/s0", {B, N}, DType::f32);
    check_finite(v0, path + ": " + g + "/v0");
    check_finite(s0, path + ": " + g + "/s0");
    model.set_stored_initial_state(v0, s0);
  }
}

}  // namespace

std::unique_ptr<BarrelModel> load_checkpoint(const std::string& path) {
  H5File f = H5File::open_read(path);
  RSNN_CHECK(f.has_attr("/", "format") && f.get_attr_string("/", "format") == "rsnn-barrel", path,
             ": not an rsnn barrel checkpoint (attribute 'format' missing or different)");
  BarrelConfig c;
  c.form = parse_form(f.get_attr_string("/", "form"));
  c.T = f.get_attr_int("/", "T");
  c.init_b = f.get_attr_double("/", "init_b");
  c.init_w = f.get_attr_double("/", "init_w");
  c.tau_m_init = f.get_attr_double("/", "tau_m_init");
  c.tau_adp_init = f.get_attr_double("/", "tau_adp_init");
  c.beta = f.get_attr_double("/", "beta");
  const std::string order = f.get_attr_string("/", "order");
  RSNN_CHECK(order == "gauss_seidel" || order == "previous_step", path, ": unknown order '", order, "'");
  c.order = order == "gauss_seidel" ? UpdateOrder::gauss_seidel : UpdateOrder::previous_step;
  const std::string loss = f.get_attr_string("/", "loss");
  RSNN_CHECK(loss == "seed" || loss == "plain", path, ": unknown loss '", loss, "' (expected seed or plain)");
  c.loss = loss == "plain" ? LossKind::plain : LossKind::seed;
  c.seed = static_cast<uint64_t>(f.get_attr_int("/", "seed"));
  // The checkpoint holds the whole projection: no connection tables are read.
  const int64_t N = kNetworkNeurons;
  Projection p;
  p.n_pre = p.n_post = N;
  p.post_ptr = f.read_checked("/projection/post_ptr", {N + 1}, DType::i64);
  p.pre_idx = f.read_checked("/projection/pre_idx", {-1}, DType::i32);
  p.source_sign = f.read_checked("/projection/source_sign", {N}, DType::f32);
  // The file is untrusted: every index is checked before the transpose indexes with it.
  validate_post_major(p, path + ": /projection");
  rsnn::detail::build_pre_major(p);
  auto model = std::make_unique<BarrelModel>(c, std::move(p));
  for (const auto& [name, v] : model->named_parameters()) {
    Tensor t = f.read_checked("/params/" + name, v.value().shape(), DType::f32);
    check_finite(t, path + ": /params/" + name);
    v.value().copy_from(t);
  }
  Tensor b_base = f.read_checked("/b_base", {N}, DType::f32);
  check_finite(b_base, path + ": /b_base");
  model->b_base().copy_from(b_base);
  if (f.exists("/init_state")) load_initial_states(f, path, *model);
  return model;
}

int64_t load_training_state(const std::string& path, ag::Adam& adam, ag::StepLR& sched) {
  H5File f = H5File::open_read(path);
  const int64_t epoch = f.get_attr_int("/", "epoch");
  if (f.exists("/optimizer")) {
    ag::AdamState st = adam.state();
    st.steps = f.get_attr_int("/optimizer", "steps");
    for (size_t k = 0; k < st.params.size(); ++k) {
      const std::string g = "/optimizer/" + std::to_string(k);
      st.params[k].m = f.read_checked(g + "/m", st.params[k].m.shape(), st.params[k].m.dtype());
      st.params[k].v = f.read_checked(g + "/v", st.params[k].v.shape(), st.params[k].v.dtype());
      // NaN here would surface epochs later as an unrelated parameter error.
      check_finite(st.params[k].m, path + ": " + g + "/m");
      check_finite(st.params[k].v, path + ": " + g + "/v");
      st.params[k].step = f.get_attr_int(g, "step");
    }
    adam.load_state(st);
  }
  sched.set_last_epoch(f.get_attr_int("/scheduler", "last_epoch"));
  return epoch;
}

}  // namespace rsnn::barrel
