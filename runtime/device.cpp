#include "runtime/device.h"

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <ostream>
#include <unordered_map>

#include "runtime/cuda_entry.h"
#include "runtime/error.h"
#ifdef RSNN_WITH_CUDA
#include "runtime/cuda_backend.h"
#endif

namespace rsnn {

std::string Device::str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }

// ---- discovery -------------------------------------------------------------------

namespace {
struct CudaProbe {
  int count = 0;
  std::string reason;
};
const CudaProbe& probe() {
  static const CudaProbe p = [] {
    CudaProbe r;
#ifdef RSNN_WITH_CUDA
    r.count = cuda_backend::device_count(&r.reason);
    if (r.count > 0) r.reason = std::to_string(r.count) + " CUDA device(s) usable";
#else
    r.reason = "rsnn was built without the CUDA backend";
#endif
    return r;
  }();
  return p;
}

[[noreturn]] void no_cuda(const char* what) {
  RSNN_FAIL(what, ": no usable CUDA device (", probe().reason, ")");
}
}  // namespace

bool cuda_compiled() {
#ifdef RSNN_WITH_CUDA
  return true;
#else
  return false;
#endif
}
bool cuda_usable() { return probe().count > 0; }
int cuda_device_count() { return probe().count; }
std::string cuda_status() { return probe().reason; }

Device parse_device(const std::string& spec) {
  if (spec == "auto") return cuda_usable() ? Device::cuda(0) : Device::cpu();
  if (spec == "cpu") return Device::cpu();
  if (spec == "cuda" || spec == "gpu") return Device::cuda(0);
  if (spec.rfind("cuda:", 0) == 0) {
    const std::string num = spec.substr(5);
    char* end = nullptr;
    long idx = std::strtol(num.c_str(), &end, 10);
    RSNN_CHECK(!num.empty() && *end == '\0' && idx >= 0 && idx < 1024, "bad device '", spec,
               "': expected auto, cpu, cuda or cuda:N");
    return Device::cuda(static_cast<int>(idx));
  }
  RSNN_FAIL("bad device '", spec, "': expected auto, cpu, cuda or cuda:N");
}

Device select_device(const std::string& spec, std::ostream* log) {
  Device d = parse_device(spec);
  if (d.is_cuda() && (!cuda_usable() || d.index >= cuda_device_count())) {
    if (log) {
      *log << "rsnn: device '" << spec << "' not usable (" << cuda_status()
           << "); running on the CPU\n";
    }
    return Device::cpu();
  }
  return d;
}

// ---- pooled allocator --------------------------------------------------------------

namespace {

size_t round_block(size_t bytes) {
  // Small blocks in 512-byte steps, large ones in 1 MiB steps: a freed block is then
  // reused exactly by the next request of the same shape, the common case in training.
  const size_t small = 512, large = size_t(1) << 20;
  return bytes < large ? (bytes + small - 1) / small * small : (bytes + large - 1) / large * large;
}

struct Pool {
  std::mutex mu;
  std::multimap<size_t, void*> cached;          // size -> block
  std::unordered_map<void*, size_t> live;       // block -> size
  PoolStats stats;
};

Pool& pool_for(Device d) {
  static std::mutex mu;
  // Never destroyed (outlives statics that free tensors at exit), and reachable to the end, so
  // LeakSanitizer does not report the cached blocks.
  static auto* pools = new std::map<std::pair<int, int>, Pool*>;
  std::lock_guard<std::mutex> lock(mu);
  auto key = std::make_pair(static_cast<int>(d.kind), d.is_cpu() ? 0 : d.index);
  auto it = pools->find(key);
  if (it == pools->end()) it = pools->emplace(key, new Pool()).first;
  return *it->second;
}

void* system_alloc(Device d, size_t bytes) {
  if (d.is_cpu()) {
    void* p = std::aligned_alloc(64, bytes);
    RSNN_CHECK(p, "out of host memory: could not allocate ", bytes, " bytes");
    return p;
  }
#ifdef RSNN_WITH_CUDA
  if (!cuda_usable()) no_cuda("alloc_bytes");
  return cuda_backend::malloc_on(d.index, bytes);
#else
  no_cuda("alloc_bytes");
#endif
}

void system_free(Device d, void* p) {
  if (d.is_cpu()) {
    std::free(p);
    return;
  }
#ifdef RSNN_WITH_CUDA
  cuda_backend::free_on(d.index, p);
#endif
}

}  // namespace

void* alloc_bytes(Device d, size_t bytes) {
  if (bytes == 0) return nullptr;
  const size_t size = round_block(bytes);
  Pool& pool = pool_for(d);
  std::lock_guard<std::mutex> lock(pool.mu);
  pool.stats.allocations++;
  void* p = nullptr;
  auto it = pool.cached.lower_bound(size);
  size_t got = size;
  if (it != pool.cached.end() && it->first <= size + size / 4) {
    p = it->second;
    got = it->first;
    pool.cached.erase(it);
    pool.stats.bytes_cached -= got;
    pool.stats.cache_hits++;
  } else {
    try {
      p = system_alloc(d, size);
    } catch (const Error&) {
      // Out of memory: give the cache back and try once more.
      for (auto& kv : pool.cached) system_free(d, kv.second);
      pool.cached.clear();
      pool.stats.bytes_cached = 0;
      p = system_alloc(d, size);
    }
  }
  pool.live[p] = got;
  pool.stats.bytes_in_use += got;
  if (pool.stats.bytes_in_use > pool.stats.peak_bytes_in_use)
    pool.stats.peak_bytes_in_use = pool.stats.bytes_in_use;
  return p;
}

void free_bytes(Device d, void* ptr) {
  if (!ptr) return;
  Pool& pool = pool_for(d);
  std::lock_guard<std::mutex> lock(pool.mu);
  auto it = pool.live.find(ptr);
  RSNN_CHECK(it != pool.live.end(), "free_bytes: pointer not allocated on ", d.str());
  const size_t size = it->second;
  pool.live.erase(it);
  pool.stats.bytes_in_use -= size;
  pool.cached.emplace(size, ptr);
  pool.stats.bytes_cached += size;
}

PoolStats pool_stats(Device d) {
  Pool& pool = pool_for(d);
  std::lock_guard<std::mutex> lock(pool.mu);
  return pool.stats;
}

void pool_reset_peak(Device d) {
  Pool& pool = pool_for(d);
  std::lock_guard<std::mutex> lock(pool.mu);
  pool.stats.peak_bytes_in_use = pool.stats.bytes_in_use;
}

void pool_empty_cache(Device d) {
  Pool& pool = pool_for(d);
  std::lock_guard<std::mutex> lock(pool.mu);
  for (auto& kv : pool.cached) system_free(d, kv.second);
  pool.cached.clear();
  pool.stats.bytes_cached = 0;
}

// ---- copies and streams -------------------------------------------------------------

void copy_bytes(void* dst, Device dst_dev, const void* src, Device src_dev, size_t bytes,
                Stream stream) {
  if (bytes == 0) return;
  RSNN_CHECK(dst && src, "copy_bytes: null pointer");
  if (dst_dev.is_cpu() && src_dev.is_cpu()) {
    std::memcpy(dst, src, bytes);
    return;
  }
#ifdef RSNN_WITH_CUDA
  if (!cuda_usable()) no_cuda("copy_bytes");
  int kind = dst_dev.is_cpu() ? 1 : (src_dev.is_cpu() ? 0 : 2);
  cuda_backend::set_device(dst_dev.is_cuda() ? dst_dev.index : src_dev.index);
  cuda_backend::memcpy_async(dst, src, bytes, kind, stream.handle);
#else
  (void)stream;
  no_cuda("copy_bytes");
#endif
}

void zero_bytes(void* ptr, Device d, size_t bytes, Stream stream) {
  if (bytes == 0) return;
  if (d.is_cpu()) {
    std::memset(ptr, 0, bytes);
    return;
  }
#ifdef RSNN_WITH_CUDA
  cuda_backend::memset_async(ptr, bytes, stream.handle, d.index);
#else
  (void)stream;
  no_cuda("zero_bytes");
#endif
}

Stream default_stream(Device d) { return Stream{d, nullptr}; }

Stream create_stream(Device d) {
  if (d.is_cpu()) return Stream{d, nullptr};
#ifdef RSNN_WITH_CUDA
  if (!cuda_usable()) no_cuda("create_stream");
  return Stream{d, cuda_backend::stream_create(d.index)};
#else
  no_cuda("create_stream");
#endif
}

void destroy_stream(Stream s) {
#ifdef RSNN_WITH_CUDA
  if (s.device.is_cuda() && s.handle) cuda_backend::stream_destroy(s.handle);
#else
  (void)s;
#endif
}

void synchronize(Device d) {
#ifdef RSNN_WITH_CUDA
  if (d.is_cuda() && cuda_usable()) cuda_backend::device_sync(d.index);
#else
  (void)d;
#endif
}

void synchronize(Stream s) {
#ifdef RSNN_WITH_CUDA
  if (s.device.is_cuda() && cuda_usable()) cuda_backend::stream_sync(s.handle);
#else
  (void)s;
#endif
}

void detail::fail_without_cuda(const char* name) {
  RSNN_FAIL(name, " on CUDA: rsnn was built without the CUDA backend");
}

}  // namespace rsnn
