// Devices, streams and memory. The backend interface is small on purpose: allocate,
// free, copy, zero, synchronize, and streams. The CPU backend is always present; the CUDA
// backend is compiled when nvcc is found and used only when a device is actually usable.
#pragma once
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>

namespace rsnn {

enum class DeviceKind : uint8_t { cpu, cuda };

struct Device {
  DeviceKind kind = DeviceKind::cpu;
  int index = 0;

  static Device cpu() { return Device{}; }
  static Device cuda(int index = 0) { return Device{DeviceKind::cuda, index}; }
  bool is_cpu() const { return kind == DeviceKind::cpu; }
  bool is_cuda() const { return kind == DeviceKind::cuda; }
  std::string str() const;  // "cpu" or "cuda:0"
  bool operator==(const Device& o) const { return kind == o.kind && (is_cpu() || index == o.index); }
  bool operator!=(const Device& o) const { return !(*this == o); }
};

// A stream orders work on one device. On the CPU work is synchronous and the handle is
// null; on CUDA the handle is a cudaStream_t (null = the legacy default stream).
struct Stream {
  Device device;
  void* handle = nullptr;
};

// ---- device discovery ------------------------------------------------------------
bool cuda_compiled();          // was this build made with the CUDA backend?
bool cuda_usable();            // compiled, driver present, at least one device (cached)
int cuda_device_count();       // 0 when not usable
std::string cuda_status();     // one line: why CUDA is or is not usable

// Parse "auto", "cpu", "cuda" or "cuda:N"; throws rsnn::Error on anything else.
// "auto" resolves to cuda:0 when usable, else cpu.
Device parse_device(const std::string& spec);
// parse_device, then fall back to the CPU when CUDA is asked for but not usable, writing
// one line saying so to `log` (if non-null).
Device select_device(const std::string& spec, std::ostream* log);

// ---- memory (pooled) -------------------------------------------------------------
// Blocks are cached per device after free and reused for later requests of a similar
// size; CPU blocks are 64-byte aligned. alloc_bytes(d, 0) returns nullptr.
void* alloc_bytes(Device d, size_t bytes);
void free_bytes(Device d, void* ptr);

struct PoolStats {
  size_t bytes_in_use = 0;       // handed out and not yet freed
  size_t peak_bytes_in_use = 0;  // high-water mark since start or reset_peak
  size_t bytes_cached = 0;       // freed blocks kept for reuse
  size_t allocations = 0;        // calls of alloc_bytes with bytes > 0
  size_t cache_hits = 0;         // of those, served from the cache
};
PoolStats pool_stats(Device d);
void pool_reset_peak(Device d);
void pool_empty_cache(Device d);  // return cached blocks to the system

// Copies between any two devices; with a CUDA stream the copy is ordered on it
// (and may be asynchronous: synchronize before reading on the host).
void copy_bytes(void* dst, Device dst_dev, const void* src, Device src_dev, size_t bytes,
                Stream stream = Stream{});
void zero_bytes(void* ptr, Device d, size_t bytes, Stream stream = Stream{});

// ---- streams ---------------------------------------------------------------------
Stream default_stream(Device d);
Stream create_stream(Device d);
void destroy_stream(Stream s);
void synchronize(Device d);       // wait for all work on the device
void synchronize(Stream s);       // wait for work on one stream

}  // namespace rsnn
