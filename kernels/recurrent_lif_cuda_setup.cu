// Validation and per-call device tables of the CUDA recurrent LIF layer (the validation is
// recurrent_lif_setup.cpp's, with the device checks added here).
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

lif_detail::Dims cuda_dims(const Projection& p, const LifConfig& cfg, const LifInputs& x,
                           Stream s, LifInputs* host_params) {
  lif_detail::Dims d = lif_detail::check_dims(p, cfg, x);
  RSNN_CHECK(p.device().is_cuda(), "recurrent_lif (CUDA): the projection is on ", p.device().str());
  // the per-neuron parameters, on the host (N values each): checked, and turned into the
  // per-neuron constants exactly as the CPU op does
  host_params->tau_m = to_host(x.tau_m, s);
  host_params->b_base = to_host(x.b_base, s);
  if (cfg.model == NeuronModel::alif) host_params->tau_adp = to_host(x.tau_adp, s);
  lif_detail::check_time_constants(cfg, host_params->tau_m, host_params->tau_adp);
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

#define RSNN_LIF_CUDA_NET(T) template struct Net<T>;
RSNN_LIF_FOR_EACH_FLOAT(RSNN_LIF_CUDA_NET)
#undef RSNN_LIF_CUDA_NET

}  // namespace rsnn::kernels::cuda_lif
