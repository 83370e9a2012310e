// Validation and per-call device tables of the CUDA recurrent LIF layer (the CPU twin is
// recurrent_lif_setup.cpp; the messages match it).
#include <algorithm>
#include <cmath>
#include <string>

#include "kernels/recurrent_lif_cuda_detail.cuh"

namespace rsnn::kernels::cuda_lif {

// ---- small runtime helpers -----------------------------------------------------------------

DeviceGuard::DeviceGuard(int device) : cur_(device) {
  RSNN_CUDA_CHECK(cudaGetDevice(&prev_));
  if (prev_ != cur_) RSNN_CUDA_CHECK(cudaSetDevice(cur_));
}

DeviceGuard::~DeviceGuard() {
  if (prev_ != cur_) cudaSetDevice(prev_);  // no throw from a destructor
}

namespace {
template <class H>
H& slot_for_current_device(std::vector<H>& handles) {
  int dev = 0;
  RSNN_CUDA_CHECK(cudaGetDevice(&dev));
  if (static_cast<size_t>(dev) >= handles.size()) handles.resize(static_cast<size_t>(dev) + 1, nullptr);
  return handles[static_cast<size_t>(dev)];
}
}  // namespace

cublasHandle_t blas_handle(cudaStream_t s) {
  thread_local std::vector<cublasHandle_t> handles;
  cublasHandle_t& h = slot_for_current_device(handles);
  if (!h) RSNN_CUBLAS_CHECK(cublasCreate(&h));
  RSNN_CUBLAS_CHECK(cublasSetStream(h, s));
  return h;
}

cusparseHandle_t sparse_handle(cudaStream_t s) {
  thread_local std::vector<cusparseHandle_t> handles;
  cusparseHandle_t& h = slot_for_current_device(handles);
  if (!h) RSNN_CUSPARSE_CHECK(cusparseCreate(&h));
  RSNN_CUSPARSE_CHECK(cusparseSetStream(h, s));
  return h;
}

// Both return at least one block (the kernels bound-check), so an empty range never makes an
// invalid launch.
unsigned elementwise_blocks(int64_t n) {
  return static_cast<unsigned>(std::clamp<int64_t>((n + kThreads - 1) / kThreads, 1, 65535 * 8));
}

unsigned row_blocks(int64_t rows) {
  const int64_t blocks = std::max<int64_t>(1, (rows + kRowsPerBlock - 1) / kRowsPerBlock);
  RSNN_CHECK(blocks < (int64_t(1) << 31), "recurrent_lif (CUDA): ", rows, " rows exceed one grid");
  return static_cast<unsigned>(blocks);
}

LaneLayout lane_layout(int64_t B) {
  LaneLayout l;
  while ((int64_t(1) << l.bs_log2) < B && l.bs_log2 < 5) ++l.bs_log2;
  l.nacc = B <= 32 ? 1 : (B <= 64 ? 2 : 4);
  return l;
}

Tensor device_zeros(const Shape& shape, DType dt, Device dev, Stream s) {
  Tensor t = Tensor::empty(shape, dt, dev);
  t.zero_(s);
  return t;
}

Tensor to_host(const Tensor& t, Stream s) {
  Tensor h = Tensor::empty(t.shape(), t.dtype(), Device::cpu());
  h.copy_from(t, s);
  return h;
}

Tensor upload_bytes(const void* src, size_t bytes, Device dev, Stream s) {
  Tensor t = Tensor::empty({static_cast<int64_t>(bytes)}, DType::u8, dev);
  copy_bytes(t.raw(), dev, src, Device::cpu(), bytes, s);
  return t;
}

template <>
cudaDataType cuda_type<float>() {
  return CUDA_R_32F;
}
template <>
cudaDataType cuda_type<double>() {
  return CUDA_R_64F;
}

// ---- validation ------------------------------------------------------------------------------

namespace {

void check_device(const Tensor& t, Device dev, const std::string& what) {
  RSNN_CHECK(t.device() == dev, "recurrent_lif: ", what, " is on ", t.device().str(),
             " but the projection is on ", dev.str(), " (all tensors must be on one device)");
}

void check_vec(const Tensor& t, int64_t n, DType dt, Device dev, const char* what) {
  RSNN_CHECK(t.defined(), "recurrent_lif: ", what, " is required");
  check_device(t, dev, what);
  check_dtype(t, dt, std::string("recurrent_lif: ") + what);
  check_shape(t, {n}, std::string("recurrent_lif: ") + what);
}

void check_state(const Tensor& t, int64_t B, int64_t N, DType dt, Device dev, const char* what) {
  if (!t.defined()) return;
  check_device(t, dev, what);
  check_dtype(t, dt, std::string("recurrent_lif: ") + what);
  check_shape(t, {B, N}, std::string("recurrent_lif: ") + what + " (batch, neurons)");
}

template <class T>
void check_positive(const Tensor& host, const char* what) {
  const T* p = host.data<T>();
  for (int64_t i = 0; i < host.numel(); ++i)
    RSNN_CHECK(p[i] > T(0) && std::isfinite(static_cast<double>(p[i])), "recurrent_lif: ", what,
               "[", i, "] = ", p[i], " must be positive and finite");
}

}  // namespace

lif_detail::Dims cuda_dims(const Projection& p, const LifConfig& cfg, const LifInputs& x,
                           Stream s, LifInputs* host_params) {
  lif_detail::Dims d;
  RSNN_CHECK(x.w.defined(), "recurrent_lif: the synaptic weights w are required");
  const DType dt = x.w.dtype();
  RSNN_CHECK(is_floating(dt), "recurrent_lif: w must be float32 or float64, got ", dtype_name(dt));
  RSNN_CHECK(p.post_ptr.defined() && p.pre_ptr.defined() && p.source_sign.defined() &&
                 p.pre_idx.defined() && p.post_idx.defined() && p.syn_of_pre.defined(),
             "recurrent_lif: the projection is empty (build it with build_projection)");
  const Device dev = p.device();
  RSNN_CHECK(dev.is_cuda(), "recurrent_lif (CUDA): the projection is on ", dev.str());
  for (const Tensor* t : {&p.pre_idx, &p.pre_ptr, &p.post_idx, &p.syn_of_pre, &p.source_sign})
    check_device(*t, dev, "a projection array");
  RSNN_CHECK(p.post_ptr.dtype() == DType::i64 && p.pre_ptr.dtype() == DType::i64 &&
                 p.syn_of_pre.dtype() == DType::i64 && p.pre_idx.dtype() == DType::i32 &&
                 p.post_idx.dtype() == DType::i32 && p.source_sign.dtype() == DType::f32,
             "recurrent_lif: projection arrays have unexpected dtypes (see kernels/projection.h)");
  RSNN_CHECK(p.n_pre == p.n_post, "recurrent_lif: the projection must be recurrent (n_pre = n_post), got ",
             p.n_pre, " -> ", p.n_post);
  d.N = p.n_post;
  d.nnz = p.nnz();
  RSNN_CHECK(p.post_ptr.numel() == d.N + 1 && p.pre_ptr.numel() == d.N + 1 &&
                 p.post_idx.numel() == d.nnz && p.syn_of_pre.numel() == d.nnz &&
                 p.source_sign.numel() == d.N,
             "recurrent_lif: inconsistent projection arrays (n = ", d.N, ", nnz = ", d.nnz, ")");
  check_vec(x.w, d.nnz, dt, dev, "w (one value per synapse)");
  check_vec(x.tau_m, d.N, dt, dev, "tau_m");
  check_vec(x.b_base, d.N, dt, dev, "b_base");
  if (cfg.model == NeuronModel::alif) check_vec(x.tau_adp, d.N, dt, dev, "tau_adp");
  RSNN_CHECK(x.i_ext.defined(), "recurrent_lif: i_ext [T, B, N_in] is required (it sets T and B)");
  RSNN_CHECK(x.i_ext.ndim() == 3, "recurrent_lif: i_ext must be [T, B, N_in], got ",
             x.i_ext.shape_str());
  check_device(x.i_ext, dev, "i_ext");
  check_dtype(x.i_ext, dt, "recurrent_lif: i_ext");
  d.T = x.i_ext.size(0);
  d.B = x.i_ext.size(1);
  d.N_in = x.i_ext.size(2);
  RSNN_CHECK(d.T >= 1 && d.B >= 1, "recurrent_lif: i_ext ", x.i_ext.shape_str(),
             " needs T >= 1 and B >= 1");
  d.in_off = cfg.input_offset;
  RSNN_CHECK(d.in_off >= 0 && d.in_off + d.N_in <= d.N, "recurrent_lif: input range [",
             d.in_off, ", ", d.in_off + d.N_in, ") exceeds the ", d.N, " neurons");
  check_state(x.v0, d.B, d.N, dt, dev, "v0");
  check_state(x.a0, d.B, d.N, dt, dev, "a0");
  check_state(x.s0, d.B, d.N, dt, dev, "s0");

  RSNN_CHECK(cfg.dt > 0 && std::isfinite(cfg.dt), "recurrent_lif: dt = ", cfg.dt, " must be > 0");
  RSNN_CHECK(std::isfinite(cfg.r_m) && std::isfinite(cfg.beta), "recurrent_lif: r_m and beta must be finite");
  RSNN_CHECK(cfg.sg_width > 0 && std::isfinite(cfg.sg_scale), "recurrent_lif: surrogate width ",
             cfg.sg_width, " must be > 0 and the scale finite");
  const int prop = static_cast<int>(cfg.propagation);
  RSNN_CHECK(prop >= 0 && prop <= static_cast<int>(Propagation::cusparse),
             "recurrent_lif: unknown propagation value ", prop);

  // the per-neuron parameters, on the host (N values each): checked, and turned into the
  // per-neuron constants exactly as the CPU op does
  host_params->tau_m = to_host(x.tau_m, s);
  host_params->b_base = to_host(x.b_base, s);
  if (cfg.model == NeuronModel::alif) host_params->tau_adp = to_host(x.tau_adp, s);
  dispatch_float(dt, "recurrent_lif", [&](auto tag) {
    using T = decltype(tag);
    if (cfg.model != NeuronModel::if_) check_positive<T>(host_params->tau_m, "tau_m");
    if (cfg.model == NeuronModel::alif) check_positive<T>(host_params->tau_adp, "tau_adp");
    return 0;
  });

  // groups
  d.offsets = cfg.group_offsets;
  if (d.offsets.empty()) d.offsets = {0, d.N};
  RSNN_CHECK(d.offsets.size() >= 2 && d.offsets.front() == 0 && d.offsets.back() == d.N,
             "recurrent_lif: group_offsets must run from 0 to N = ", d.N, " (", d.offsets.size(),
             " entries given)");
  for (size_t g = 1; g < d.offsets.size(); ++g)
    RSNN_CHECK(d.offsets[g] >= d.offsets[g - 1], "recurrent_lif: group_offsets decrease at entry ", g);
  d.G = static_cast<int64_t>(d.offsets.size()) - 1;
  d.group_of.assign(static_cast<size_t>(d.N), 0);
  for (int64_t g = 0; g < d.G; ++g)
    for (int64_t i = d.offsets[g]; i < d.offsets[g + 1]; ++i) d.group_of[i] = static_cast<int32_t>(g);
  d.gauss_seidel = cfg.order == UpdateOrder::gauss_seidel;

  // readout
  d.ro_col.assign(static_cast<size_t>(d.N), -1);
  if (x.w_ro.defined()) {
    RSNN_CHECK(!cfg.readout.empty(), "recurrent_lif: w_ro is given but cfg.readout names no neurons");
    check_device(x.w_ro, dev, "w_ro");
    check_dtype(x.w_ro, dt, "recurrent_lif: w_ro");
    for (const NeuronRange& r : cfg.readout) {
      RSNN_CHECK(r.start >= 0 && r.length > 0 && r.start + r.length <= d.N,
                 "recurrent_lif: readout range [", r.start, ", ", r.start + r.length,
                 ") is empty or outside the ", d.N, " neurons");
      for (int64_t i = r.start; i < r.start + r.length; ++i) {
        RSNN_CHECK(d.ro_col[i] < 0, "recurrent_lif: neuron ", i, " appears twice in the readout ranges");
        d.ro_col[i] = d.N_ro++;
      }
    }
    RSNN_CHECK(x.w_ro.ndim() == 2 && x.w_ro.size(1) == d.N_ro && x.w_ro.size(0) >= 1,
               "recurrent_lif: w_ro must be [R, ", d.N_ro, "] (readout neurons), got ",
               x.w_ro.shape_str());
    d.R = x.w_ro.size(0);
    d.has_readout = true;
  }
  // cuBLAS takes int sizes
  const int64_t int_max = 2147483647;
  RSNN_CHECK(d.B <= int_max && d.N_ro <= int_max && d.R <= int_max,
             "recurrent_lif (CUDA): batch or readout too large for cuBLAS (B = ", d.B, ")");
  return d;
}

// ---- per-call tables -----------------------------------------------------------------------

namespace {

__device__ int64_t lower_bound_i32(const int32_t* a, int64_t lo, int64_t hi, int64_t key) {
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (a[mid] < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// lif_detail::row_splits on the device: one thread per neuron.
// tables = [offsets (G+1) | group_of (N)], int64.
__global__ void splits_kernel(int64_t N, int64_t G, bool gauss_seidel, const int64_t* tables,
                              const int64_t* post_ptr, const int32_t* pre_idx,
                              const int64_t* pre_ptr, const int32_t* post_idx, int64_t* post_split,
                              int64_t* pre_split) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < N;
       i += int64_t(gridDim.x) * blockDim.x) {
    if (!gauss_seidel) {
      post_split[i] = post_ptr[i];
      pre_split[i] = pre_ptr[i + 1];
      continue;
    }
    const int64_t g = tables[G + 1 + i];
    post_split[i] = lower_bound_i32(pre_idx, post_ptr[i], post_ptr[i + 1], tables[g]);
    pre_split[i] = lower_bound_i32(post_idx, pre_ptr[i], pre_ptr[i + 1], tables[g + 1]);
  }
}

template <class T>
__global__ void signed_weights_kernel(int64_t nnz, const float* sign, const int32_t* pre_idx,
                                      const T* w, T* ws) {
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < nnz;
       k += int64_t(gridDim.x) * blockDim.x)
    ws[k] = static_cast<T>(sign[pre_idx[k]]) * w[k];
}

template <class T>
__global__ void pre_major_kernel(int64_t nnz, const int64_t* syn_of_pre, const int32_t* post_idx,
                                 const T* ws, const lif::NeuronConst<T>* nc, T* out) {
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < nnz;
       k += int64_t(gridDim.x) * blockDim.x) {
    const T v = ws[syn_of_pre[k]];
    out[k] = nc ? v * nc[post_idx[k]].in_gain : v;
  }
}

}  // namespace

template <class T>
Net<T>::Net(const Projection& p, const LifConfig& cfg, const LifInputs& x, Stream s)
    : dev(p.device()), stream(s), cs(static_cast<cudaStream_t>(s.handle)) {
  LifInputs host;
  d = cuda_dims(p, cfg, x, s, &host);
  m = lif::make_model<T>(cfg.model, cfg.dt, cfg.r_m, cfg.beta);
  sg = lif::make_surrogate<T>(cfg.surrogate, cfg.sg_width, cfg.sg_scale);
  nc_host = lif_detail::neuron_consts<T>(m, host, d.N);
  nc_buf = upload_bytes(nc_host.data(), nc_host.size() * sizeof(lif::NeuronConst<T>), dev, s);
  nc = static_cast<const lif::NeuronConst<T>*>(nc_buf.raw());

  post_ptr = p.post_ptr.data<int64_t>();
  pre_ptr = p.pre_ptr.data<int64_t>();
  syn_of_pre = p.syn_of_pre.data<int64_t>();
  pre_idx = p.pre_idx.data<int32_t>();
  post_idx = p.post_idx.data<int32_t>();
  sign = p.source_sign.data<float>();

  std::vector<int64_t> tables(d.offsets);
  tables.insert(tables.end(), d.group_of.begin(), d.group_of.end());
  tables_buf = upload_bytes(tables.data(), tables.size() * sizeof(int64_t), dev, s);
  post_split = Tensor::empty({d.N}, DType::i64, dev);
  pre_split = Tensor::empty({d.N}, DType::i64, dev);
  if (d.N > 0) {
    splits_kernel<<<elementwise_blocks(d.N), kThreads, 0, cs>>>(
        d.N, d.G, d.gauss_seidel, static_cast<const int64_t*>(tables_buf.raw()), post_ptr, pre_idx,
        pre_ptr, post_idx, post_split.data<int64_t>(), pre_split.data<int64_t>());
    RSNN_CUDA_CHECK_LAUNCH();
  }
  post_split_p = post_split.data<int64_t>();
  pre_split_p = pre_split.data<int64_t>();

  ws = Tensor::empty({d.nnz}, dtype_of<T>(), dev);
  if (d.nnz > 0) {
    signed_weights_kernel<T><<<elementwise_blocks(d.nnz), kThreads, 0, cs>>>(
        d.nnz, sign, pre_idx, x.w.data<T>(), ws.data<T>());
    RSNN_CUDA_CHECK_LAUNCH();
  }

  if (d.gauss_seidel && d.G > 1) {
    for (int64_t g = 0; g < d.G; ++g)
      if (d.offsets[g + 1] > d.offsets[g]) launch_groups.emplace_back(d.offsets[g], d.offsets[g + 1]);
  } else {
    launch_groups.emplace_back(0, d.N);
  }
}

template <class T>
Tensor Net<T>::pre_major(bool times_in_gain) const {
  Tensor out = Tensor::empty({d.nnz}, dtype_of<T>(), dev);
  if (d.nnz > 0) {
    pre_major_kernel<T><<<elementwise_blocks(d.nnz), kThreads, 0, cs>>>(
        d.nnz, syn_of_pre, post_idx, ws.data<T>(), times_in_gain ? nc : nullptr, out.data<T>());
    RSNN_CUDA_CHECK_LAUNCH();
  }
  return out;
}

template struct Net<float>;
template struct Net<double>;

}  // namespace rsnn::kernels::cuda_lif
