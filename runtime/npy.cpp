#include "runtime/npy.h"

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <sstream>

#include "runtime/atomic_file.h"
#include "runtime/byteswap.h"

namespace rsnn {

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

FilePtr open_for_reading(const std::string& path) {
  FilePtr f(std::fopen(path.c_str(), "rb"));
  RSNN_CHECK(f, path, ": cannot open .npy file: ", std::strerror(errno));
  return f;
}

uint64_t file_size(std::FILE* f, const std::string& path) {
  RSNN_CHECK(std::fseek(f, 0, SEEK_END) == 0, path, ": cannot seek: ", std::strerror(errno));
  const long size = std::ftell(f);
  RSNN_CHECK(size >= 0, path, ": cannot tell the file size: ", std::strerror(errno));
  RSNN_CHECK(std::fseek(f, 0, SEEK_SET) == 0, path, ": cannot seek: ", std::strerror(errno));
  return static_cast<uint64_t>(size);
}

// ---- header dictionary --------------------------------------------------------------
// The header is a Python dict literal, e.g.
//   {'descr': '<f8', 'fortran_order': True, 'shape': (13, 13), }
// Keys may come in any order; strings use ' or "; the shape tuple may have a trailing comma
// and (from Python 2) 'L' suffixes on its integers.
class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& path) : s_(text), path_(path) {}

  void parse(NpyHeader& h) {
    bool have_descr = false, have_order = false, have_shape = false;
    expect('{');
    while (true) {
      skip_space();
      if (peek() == '}') {
        ++pos_;
        break;
      }
      const std::string key = parse_string();
      expect(':');
      if (key == "descr") {
        RSNN_CHECK(!have_descr, path_, ": .npy header repeats key 'descr'");
        skip_space();
        RSNN_CHECK(peek() != '[', path_,
                   ": structured .npy dtypes (a list descr) are not supported");
        h.descr = parse_string();
        have_descr = true;
      } else if (key == "fortran_order") {
        RSNN_CHECK(!have_order, path_, ": .npy header repeats key 'fortran_order'");
        h.fortran_order = parse_bool();
        have_order = true;
      } else if (key == "shape") {
        RSNN_CHECK(!have_shape, path_, ": .npy header repeats key 'shape'");
        h.shape = parse_shape();
        have_shape = true;
      } else {
        fail("unknown key '" + key + "'");
      }
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      expect('}');
      break;
    }
    skip_space();
    RSNN_CHECK(pos_ == s_.size(), path_, ": unexpected text after the .npy header dict at offset ",
               pos_);
    RSNN_CHECK(have_descr, path_, ": .npy header lacks the key 'descr'");
    RSNN_CHECK(have_order, path_, ": .npy header lacks the key 'fortran_order'");
    RSNN_CHECK(have_shape, path_, ": .npy header lacks the key 'shape'");
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    std::string text = s_;
    while (!text.empty() &&
           (std::isspace(static_cast<unsigned char>(text.back())) || text.back() == '\0'))
      text.pop_back();
    RSNN_FAIL(path_, ": cannot parse the .npy header (", what, " at offset ", pos_, "): ", text);
  }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skip_space() {
    while (pos_ < s_.size() &&
           (std::isspace(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '\0'))
      ++pos_;
  }
  void expect(char c) {
    skip_space();
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  std::string parse_string() {
    skip_space();
    const char quote = peek();
    if (quote != '\'' && quote != '"') fail("expected a quoted string");
    const size_t end = s_.find(quote, pos_ + 1);
    if (end == std::string::npos) fail("unterminated string");
    std::string out = s_.substr(pos_ + 1, end - pos_ - 1);
    pos_ = end + 1;
    return out;
  }
  bool parse_bool() {
    skip_space();
    if (s_.compare(pos_, 4, "True") == 0) {
      pos_ += 4;
      return true;
    }
    if (s_.compare(pos_, 5, "False") == 0) {
      pos_ += 5;
      return false;
    }
    fail("expected True or False");
  }
  Shape parse_shape() {
    Shape shape;
    expect('(');
    while (true) {
      skip_space();
      if (peek() == ')') {
        ++pos_;
        break;
      }
      if (!std::isdigit(static_cast<unsigned char>(peek()))) fail("expected a dimension");
      int64_t v = 0;
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        const int digit = s_[pos_++] - '0';
        if (v > (std::numeric_limits<int64_t>::max() - digit) / 10) fail("dimension too large");
        v = v * 10 + digit;
      }
      if (peek() == 'L') ++pos_;
      shape.push_back(v);
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      expect(')');
      break;
    }
    return shape;
  }

  const std::string& s_;
  const std::string& path_;
  size_t pos_ = 0;
};

// Map a descr such as '<f8' onto a DType; sets `swap` for big-endian multi-byte data.
DType dtype_from_descr(const std::string& descr, const std::string& path, bool& swap,
                       bool& is_bool) {
  swap = false;
  is_bool = false;
  RSNN_CHECK(descr.size() >= 2, path, ": unsupported .npy dtype '", descr, "'");
  const char order = descr[0];
  const char kind = descr[1];
  const std::string size = descr.substr(2);
  RSNN_CHECK(kind != 'O', path, ": .npy file holds Python objects (dtype '", descr,
             "', pickled); only numeric arrays are supported");
  RSNN_CHECK(order == '<' || order == '>' || order == '|' || order == '=', path,
             ": unsupported .npy dtype '", descr, "' (unknown byte order '", order, "')");
  // kind + item size -> Tensor dtype; 'b1' is NumPy's bool (bytes 0/1).
  struct Entry {
    const char* kind_size;
    DType dtype;
  };
  static const Entry table[] = {{"f4", DType::f32}, {"f8", DType::f64}, {"i4", DType::i32},
                                {"i8", DType::i64}, {"u1", DType::u8},  {"b1", DType::u8}};
  const std::string kind_size = std::string(1, kind) + size;
  const Entry* found = nullptr;
  for (const Entry& e : table)
    if (kind_size == e.kind_size) found = &e;
  RSNN_CHECK(found, path, ": unsupported .npy dtype '", descr,
             "' (supported: <f4 <f8 <i4 <i8 |u1 |b1, either byte order)");
  const DType t = found->dtype;
  is_bool = kind == 'b';
  RSNN_CHECK(order != '|' || dtype_size(t) == 1, path, ": .npy dtype '", descr,
             "' has no byte order but items of ", dtype_size(t), " bytes");
  swap = order == '>' && dtype_size(t) > 1;
  return t;
}

int64_t checked_numel(const Shape& shape, const std::string& path) {
  int64_t n = 1;
  for (int64_t d : shape) {
    RSNN_CHECK(d >= 0, path, ": negative dimension in .npy shape ", shape_str(shape));
    RSNN_CHECK(d == 0 || n <= std::numeric_limits<int64_t>::max() / 16 / d, path, ": .npy shape ",
               shape_str(shape), " is too large");
    n *= d;
  }
  return n;
}

struct ParsedHeader {
  NpyHeader header;
  bool swap = false;
  bool is_bool = false;
};

ParsedHeader read_header(std::FILE* f, const std::string& path) {
  const uint64_t size = file_size(f, path);
  unsigned char prelude[12];
  const size_t got = std::fread(prelude, 1, 10, f);
  RSNN_CHECK(got >= kMagicLen && std::memcmp(prelude, kMagic, kMagicLen) == 0, path,
             ": not an .npy file (missing the \\x93NUMPY magic)");
  RSNN_CHECK(got == 10, path, ": truncated .npy file (", size, " bytes, shorter than its prelude)");
  ParsedHeader p;
  NpyHeader& h = p.header;
  h.major_version = prelude[6];
  h.minor_version = prelude[7];
  RSNN_CHECK(h.major_version >= 1 && h.major_version <= 3 && h.minor_version == 0, path,
             ": unsupported .npy format version ", h.major_version, ".", h.minor_version,
             " (supported: 1.0, 2.0, 3.0)");
  size_t prelude_len = 10;
  uint64_t header_len;
  if (h.major_version == 1) {
    header_len = read_little_endian(prelude + 8, 2);
  } else {
    RSNN_CHECK(std::fread(prelude + 10, 1, 2, f) == 2, path, ": truncated .npy prelude");
    prelude_len = 12;
    header_len = read_little_endian(prelude + 8, 4);
  }
  RSNN_CHECK(prelude_len + header_len <= size, path, ": truncated .npy file: header of ",
             header_len, " bytes announced, file has ", size, " bytes");
  std::string text(header_len, '\0');
  RSNN_CHECK(std::fread(&text[0], 1, header_len, f) == header_len, path,
             ": cannot read the .npy header");
  HeaderParser(text, path).parse(h);
  h.dtype = dtype_from_descr(h.descr, path, p.swap, p.is_bool);
  h.data_offset = prelude_len + header_len;
  const uint64_t expected =
      static_cast<uint64_t>(checked_numel(h.shape, path)) * dtype_size(h.dtype);
  const uint64_t actual = size - h.data_offset;
  RSNN_CHECK(actual == expected, path, ": .npy data length does not match its header: shape ",
             shape_str(h.shape), " of '", h.descr, "' needs ", expected, " data bytes, file has ",
             actual, actual < expected ? " (truncated file)" : " (trailing bytes)");
  return p;
}

// Copy a column-major (Fortran) array of `shape` into row-major order.
template <class T>
void fortran_to_c(const T* src, T* dst, const Shape& shape) {
  const int rank = static_cast<int>(shape.size());
  const int64_t n = shape_numel(shape);
  if (n == 0) return;
  if (rank <= 1) {
    std::copy(src, src + n, dst);
    return;
  }
  // Fortran strides: the first index is contiguous.
  std::vector<int64_t> stride(rank);
  stride[0] = 1;
  for (int k = 1; k < rank; ++k) stride[k] = stride[k - 1] * shape[k - 1];
  const int64_t last = shape[rank - 1];
  const int64_t last_stride = stride[rank - 1];
  std::vector<int64_t> idx(rank - 1, 0);  // C-order counter over all but the last dim
  int64_t base = 0;                       // Fortran offset of (idx..., 0)
  for (int64_t out = 0; out < n; out += last) {
    for (int64_t j = 0; j < last; ++j) dst[out + j] = src[base + j * last_stride];
    for (int k = rank - 2; k >= 0; --k) {
      base += stride[k];
      if (++idx[k] < shape[k]) break;
      base -= stride[k] * shape[k];
      idx[k] = 0;
    }
  }
}

void fortran_to_c_bytes(const void* src, void* dst, const Shape& shape, size_t item) {
  switch (item) {
    case 1:
      fortran_to_c(static_cast<const uint8_t*>(src), static_cast<uint8_t*>(dst), shape);
      break;
    case 4:
      fortran_to_c(static_cast<const uint32_t*>(src), static_cast<uint32_t*>(dst), shape);
      break;
    case 8:
      fortran_to_c(static_cast<const uint64_t*>(src), static_cast<uint64_t*>(dst), shape);
      break;
    default: RSNN_FAIL("npy: no Fortran-order copy for items of ", item, " bytes");
  }
}

const char* descr_for(DType t) {
  switch (t) {
    case DType::f32: return "<f4";
    case DType::f64: return "<f8";
    case DType::i32: return "<i4";
    case DType::i64: return "<i8";
    case DType::u8: return "|u1";
  }
  return "?";
}

}  // namespace

size_t NpyHeader::data_bytes() const {
  return static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype);
}

NpyHeader npy_header(const std::string& path) {
  FilePtr f = open_for_reading(path);
  return read_header(f.get(), path).header;
}

Tensor npy_load(const std::string& path) {
  FilePtr f = open_for_reading(path);
  const ParsedHeader p = read_header(f.get(), path);
  const NpyHeader& h = p.header;
  Tensor out = Tensor::empty(h.shape, h.dtype);
  const size_t bytes = h.data_bytes();
  if (bytes == 0) return out;
  const bool transpose = h.fortran_order && h.shape.size() > 1;
  Tensor raw = transpose ? Tensor::empty(h.shape, h.dtype) : out;
  RSNN_CHECK(std::fseek(f.get(), static_cast<long>(h.data_offset), SEEK_SET) == 0, path,
             ": cannot seek to the .npy data: ", std::strerror(errno));
  const size_t got = std::fread(raw.raw(), 1, bytes, f.get());
  RSNN_CHECK(got == bytes, path, ": cannot read the .npy data: expected ", bytes, " bytes, read ",
             got);
  const size_t n = static_cast<size_t>(out.numel());
  if (p.swap) byteswap_items(raw.raw(), n, dtype_size(h.dtype));
  if (p.is_bool) {
    uint8_t* b = raw.data<uint8_t>();
    for (size_t i = 0; i < n; ++i) b[i] = b[i] != 0;
  }
  if (transpose) fortran_to_c_bytes(raw.raw(), out.raw(), h.shape, dtype_size(h.dtype));
  return out;
}

Tensor npy_load_as(const std::string& path, DType dtype) { return npy_load(path).to_dtype(dtype); }

void npy_save(const std::string& path, const Tensor& t) {
  RSNN_CHECK(t.defined(), path, ": npy_save of an undefined tensor");
  const Tensor host = t.to(Device::cpu());

  std::ostringstream dict;
  dict << "{'descr': '" << descr_for(host.dtype()) << "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < host.shape().size(); ++i) dict << (i ? ", " : "") << host.shape()[i];
  if (host.shape().size() == 1) dict << ',';
  dict << "), }";
  std::string header = dict.str();
  // Pad with spaces and a final newline so the data starts on a 64-byte boundary.
  const bool v1 = header.size() + 1 + 10 <= 65535;
  const size_t prelude = v1 ? 10 : 12;
  const size_t total = (prelude + header.size() + 1 + 63) / 64 * 64;
  header.append(total - prelude - header.size() - 1, ' ');
  header.push_back('\n');

  std::string head(kMagic, kMagicLen);
  head.push_back(static_cast<char>(v1 ? 1 : 2));
  head.push_back(0);
  const uint64_t len = header.size();
  for (size_t i = 0; i < prelude - 8; ++i)
    head.push_back(static_cast<char>((len >> (8 * i)) & 0xff));
  head += header;

  AtomicFile out(path);
  FilePtr f(std::fopen(out.temp_path().c_str(), "wb"));
  RSNN_CHECK(f, path, ": cannot create '", out.temp_path(), "': ", std::strerror(errno));
  bool ok = std::fwrite(head.data(), 1, head.size(), f.get()) == head.size();
  if (ok && host.nbytes() > 0)
    ok = std::fwrite(host.raw(), 1, host.nbytes(), f.get()) == host.nbytes();
  const int write_errno = errno;
  RSNN_CHECK(ok, path, ": write failed: ", std::strerror(write_errno));
  RSNN_CHECK(std::fclose(f.release()) == 0, path, ": cannot close '", out.temp_path(),
             "': ", std::strerror(errno));
  out.commit();
}

}  // namespace rsnn
