#include "runtime/idx.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <vector>

#include "runtime/byteswap.h"

namespace rsnn {

namespace {

constexpr int kMaxRank = 16;

// gzopen reads gzip streams and, transparently, plain files.
class GzReader {
 public:
  explicit GzReader(const std::string& path) : path_(path) {
    errno = 0;
    f_ = gzopen(path.c_str(), "rb");
    RSNN_CHECK(f_, path,
               ": cannot open IDX file: ", errno ? std::strerror(errno) : "out of memory");
    gzbuffer(f_, 1 << 18);
  }
  ~GzReader() {
    if (f_) gzclose_r(f_);
  }
  GzReader(const GzReader&) = delete;
  GzReader& operator=(const GzReader&) = delete;

  // Read up to `bytes`; returns how many were read (fewer only at the end of the data).
  size_t read(void* dst, size_t bytes) {
    auto* p = static_cast<unsigned char*>(dst);
    size_t done = 0;
    while (done < bytes) {
      const unsigned want = static_cast<unsigned>(std::min<size_t>(bytes - done, size_t(1) << 30));
      const int got = gzread(f_, p + done, want);
      if (got < 0) {
        int code = Z_OK;
        gzerror(f_, &code);
        RSNN_FAIL(path_, code == Z_ERRNO ? ": read error: " : ": corrupt gzip data: ", reason());
      }
      if (got == 0) break;
      done += static_cast<size_t>(got);
    }
    return done;
  }

  // Whether the file is plain (not gzip); meaningful once something was read.
  bool plain() const { return gzdirect(f_) == 1; }

  // zlib's account of the last error ("unexpected end of file", "incorrect data check"),
  // without the path that zlib puts in front.
  std::string reason() const {
    int code = Z_OK;
    const char* msg = gzerror(f_, &code);
    if (code == Z_ERRNO) return std::strerror(errno);
    if (code == Z_OK || !msg) return std::string();
    std::string r = msg;
    if (r.compare(0, path_.size() + 2, path_ + ": ") == 0) r.erase(0, path_.size() + 2);
    return r;
  }

 private:
  std::string path_;
  gzFile f_ = nullptr;
};

struct TypeInfo {
  int code;
  size_t item;  // bytes per element in the file
  DType dtype;  // what idx_load returns
  const char* name;
};

const TypeInfo kTypes[] = {
    {0x08, 1, DType::u8, "uint8"},    {0x09, 1, DType::i32, "int8"},
    {0x0B, 2, DType::i32, "int16"},   {0x0C, 4, DType::i32, "int32"},
    {0x0D, 4, DType::f32, "float32"}, {0x0E, 8, DType::f64, "float64"},
};

const TypeInfo& type_info(int code, const std::string& path) {
  for (const TypeInfo& t : kTypes)
    if (t.code == code) return t;
  RSNN_FAIL(path, ": unknown IDX element type 0x", std::hex, code,
            " (known: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64)");
}

IdxHeader read_header(GzReader& in, const std::string& path) {
  unsigned char magic[4];
  const size_t got = in.read(magic, 4);
  RSNN_CHECK(got == 4, path, ": not an IDX file (", got, " bytes, shorter than the magic)");
  RSNN_CHECK(magic[0] == 0 && magic[1] == 0, path,
             ": not an IDX file (the magic must start with two zero bytes)");
  IdxHeader h;
  h.type_code = magic[2];
  h.dtype = type_info(h.type_code, path).dtype;
  const int rank = magic[3];
  RSNN_CHECK(rank >= 1 && rank <= kMaxRank, path, ": IDX rank ", rank, " is not in 1..", kMaxRank);
  std::vector<unsigned char> dims(4 * static_cast<size_t>(rank));
  RSNN_CHECK(in.read(dims.data(), dims.size()) == dims.size(), path,
             ": truncated IDX file (the header announces ", rank, " dimensions)");
  for (int i = 0; i < rank; ++i)
    h.shape.push_back(static_cast<int64_t>(read_big_endian(&dims[4 * i], 4)));
  return h;
}

// Widen big-endian int8/int16 items into the int32 tensor.
void widen(const unsigned char* raw, const TypeInfo& t, size_t n, Tensor& out) {
  int32_t* d = out.data<int32_t>();
  if (t.code == 0x09) {
    for (size_t i = 0; i < n; ++i) d[i] = static_cast<int8_t>(raw[i]);
  } else {
    for (size_t i = 0; i < n; ++i)
      d[i] = static_cast<int16_t>(static_cast<uint16_t>(read_big_endian(raw + 2 * i, 2)));
  }
}

}  // namespace

IdxHeader idx_header(const std::string& path) {
  GzReader in(path);
  return read_header(in, path);
}

Tensor idx_load(const std::string& path) {
  GzReader in(path);
  const IdxHeader h = read_header(in, path);
  const TypeInfo& t = type_info(h.type_code, path);
  int64_t n = 1;
  for (int64_t d : h.shape) {
    RSNN_CHECK(d == 0 || n <= std::numeric_limits<int64_t>::max() / 16 / d, path,
               ": IDX dimensions ", shape_str(h.shape), " are too large");
    n *= d;
  }
  const size_t count = static_cast<size_t>(n);
  const size_t bytes = count * t.item;
  // A header may claim more data than the file can hold: refuse before allocating for it. A
  // plain file holds its size less the header; deflate expands at most 1032:1.
  std::error_code ec;
  const uint64_t file_bytes = std::filesystem::file_size(path, ec);
  if (!ec && in.plain()) {
    const uint64_t header_bytes = 4 + 4 * h.shape.size();
    const uint64_t found = file_bytes > header_bytes ? file_bytes - header_bytes : 0;
    RSNN_CHECK(bytes <= found, path, ": truncated IDX file: dimensions ", shape_str(h.shape),
               " of ", t.name, " need ", bytes, " data bytes, found ", found);
  } else if (!ec) {
    RSNN_CHECK(bytes / 1032 <= file_bytes, path, ": truncated IDX file: dimensions ",
               shape_str(h.shape), " of ", t.name, " need ", bytes,
               " data bytes, more than a gzip file of ", file_bytes, " bytes can hold");
  }
  Tensor out = Tensor::empty(h.shape, h.dtype);
  // Items of the tensor's size are read straight into it (and byte-swapped there); int8 and
  // int16 go through a buffer and are widened.
  const bool direct = t.item == dtype_size(h.dtype);
  std::vector<unsigned char> buffer(direct ? 0 : bytes);
  unsigned char* raw = direct ? static_cast<unsigned char*>(out.raw()) : buffer.data();
  const size_t got = bytes ? in.read(raw, bytes) : 0;
  if (got < bytes) {
    const std::string why = in.reason();
    RSNN_FAIL(path, ": truncated IDX file: dimensions ", shape_str(h.shape), " of ", t.name,
              " need ", bytes, " data bytes, found ", got, why.empty() ? "" : " (", why,
              why.empty() ? "" : ")");
  }
  unsigned char extra;
  RSNN_CHECK(in.read(&extra, 1) == 0, path, ": IDX file has trailing bytes after the ", bytes,
             " data bytes that its dimensions ", shape_str(h.shape), " describe");
  if (direct)
    byteswap_items(raw, count, t.item);
  else
    widen(raw, t, count, out);
  return out;
}

}  // namespace rsnn
