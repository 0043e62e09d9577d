#include "safetensors.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>
#include <unordered_set>
#include <vector>

#include "atomic_file.h"
#include "common/error.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors and torch storages are little-endian; big-endian hosts need byte swapping"
#endif

namespace rebasin::io {
namespace {

using Json = nlohmann::ordered_json;  // keeps the header's own order for ties and messages

// The format caps the header at 100 MB; anything bigger is corrupt, whatever the file size.
constexpr std::uint64_t kMaxHeader = 100'000'000;

struct DtypeInfo {
  const char* code;
  at::ScalarType type;
};
constexpr DtypeInfo kDtypes[] = {
    {"F32", at::kFloat}, {"F64", at::kDouble}, {"F16", at::kHalf},  {"BF16", at::kBFloat16},
    {"I64", at::kLong},  {"I32", at::kInt},    {"I16", at::kShort}, {"I8", at::kChar},
    {"U8", at::kByte},   {"BOOL", at::kBool}};

// Random access to the bytes being parsed: a file or a memory block.
using ReadAt = std::function<void(std::uint64_t offset, void* dst, std::size_t n)>;

struct Entry {
  std::string name;
  at::ScalarType type;
  std::vector<int64_t> shape;
  std::uint64_t begin = 0, end = 0;
  std::size_t header_index = 0;
};

std::uint64_t read_le64(const unsigned char* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

std::string clip(const std::string& s) { return s.size() > 80 ? s.substr(0, 77) + "..." : s; }

Entry parse_entry(const std::string& label, const std::string& name, const Json& v,
                  std::uint64_t data_size) {
  const std::string where = label + ": tensor '" + clip(name) + "'";
  require(v.is_object(), where + ": header entry is not an object");
  Entry e;
  e.name = name;
  require(v.contains("dtype") && v["dtype"].is_string(), where + ": missing or invalid dtype");
  const std::string code = v["dtype"].get<std::string>();
  const auto* dt = std::find_if(std::begin(kDtypes), std::end(kDtypes),
                                [&](const DtypeInfo& d) { return code == d.code; });
  require(dt != std::end(kDtypes), where + ": unsupported dtype '" + clip(code) + "'");
  e.type = dt->type;
  require(v.contains("shape") && v["shape"].is_array(), where + ": missing or invalid shape");
  std::uint64_t numel = 1;
  for (const Json& d : v["shape"]) {
    require(d.is_number_unsigned() || (d.is_number_integer() && d.get<int64_t>() >= 0),
            where + ": shape entries must be non-negative integers");
    const std::uint64_t n = d.get<std::uint64_t>();
    require(n <= static_cast<std::uint64_t>(std::numeric_limits<int64_t>::max()),
            where + ": shape entry too large");
    e.shape.push_back(static_cast<int64_t>(n));
    // Checked product: a bogus shape must not overflow into a plausible size.
    require(n == 0 || numel <= data_size / n || numel == 0, where + ": shape larger than the file");
    numel *= n;
  }
  require(v.contains("data_offsets") && v["data_offsets"].is_array() &&
              v["data_offsets"].size() == 2 && v["data_offsets"][0].is_number_unsigned() &&
              v["data_offsets"][1].is_number_unsigned(),
          where + ": data_offsets must be two non-negative integers");
  e.begin = v["data_offsets"][0].get<std::uint64_t>();
  e.end = v["data_offsets"][1].get<std::uint64_t>();
  require(e.begin <= e.end, where + ": data_offsets are reversed");
  require(e.end <= data_size, where + ": data_offsets [" + std::to_string(e.begin) + ", " +
                                  std::to_string(e.end) + "] run past the end of the data (" +
                                  std::to_string(data_size) + " bytes)");
  const std::uint64_t bytes = numel * c10::elementSize(e.type);  // numel <= data_size: no overflow
  require(bytes == e.end - e.begin, where + ": shape and dtype need " + std::to_string(bytes) +
                                        " bytes but data_offsets span " +
                                        std::to_string(e.end - e.begin));
  return e;
}

SafetensorsContents parse(const std::string& label, std::uint64_t size, const ReadAt& read_at) {
  require(size >= 8, label + ": not a safetensors file (shorter than its 8-byte header length)");
  unsigned char len_bytes[8];
  read_at(0, len_bytes, 8);
  const std::uint64_t header_len = read_le64(len_bytes);
  require(header_len <= size - 8, label + ": header length " + std::to_string(header_len) +
                                      " exceeds the file size (" + std::to_string(size) +
                                      " bytes): truncated or not a safetensors file");
  require(header_len <= kMaxHeader, label + ": header length " + std::to_string(header_len) +
                                        " exceeds the format's 100 MB limit");
  std::string header(header_len, '\0');
  read_at(8, header.data(), header_len);
  Json root = Json::parse(header, nullptr, /*allow_exceptions=*/false);
  require(!root.is_discarded(), label + ": header is not valid JSON");
  require(root.is_object(), label + ": header is not a JSON object");

  const std::uint64_t data_start = 8 + header_len;
  const std::uint64_t data_size = size - data_start;
  SafetensorsContents out;
  std::vector<Entry> entries;
  for (const auto& [name, v] : root.items()) {
    if (name == "__metadata__") {
      require(v.is_object(), label + ": __metadata__ is not an object");
      for (const auto& [k, s] : v.items()) {
        require(s.is_string(), label + ": __metadata__ value '" + clip(k) + "' is not a string");
        out.metadata[k] = s.get<std::string>();
      }
      continue;
    }
    entries.push_back(parse_entry(label, name, v, data_size));
    entries.back().header_index = entries.size() - 1;
  }
  // The format requires the tensors to tile the data section exactly: no overlap, no holes.
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  std::uint64_t cursor = 0;
  const Entry* prev = nullptr;
  for (const Entry& e : entries) {
    require(e.begin >= cursor, label + ": tensors '" + clip(prev ? prev->name : "") + "' and '" +
                                   clip(e.name) + "' overlap");
    require(e.begin == cursor, label + ": " + std::to_string(e.begin - cursor) +
                                   " unused bytes before tensor '" + clip(e.name) + "'");
    cursor = e.end;
    prev = &e;
  }
  require(cursor == data_size, label + ": " + std::to_string(data_size - cursor) +
                                   " bytes after the last tensor are not described by the header");

  for (const Entry& e : entries) {
    at::Tensor t = at::empty(e.shape, at::TensorOptions().dtype(e.type));
    if (e.end > e.begin) read_at(data_start + e.begin, t.data_ptr(), e.end - e.begin);
    // Any non-zero byte is true; normalise so a stray 0x02 cannot make an invalid bool.
    if (e.type == at::kBool) t = t.view(at::kByte).ne(0);
    out.tensors.push_back({e.name, t});
  }
  return out;
}

}  // namespace

SafetensorsContents parse_safetensors(const void* data, std::size_t size, const std::string& label) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  return parse(label, size, [&](std::uint64_t off, void* dst, std::size_t n) {
    std::memcpy(dst, bytes + off, n);  // parse() checks every range against `size` first
  });
}

SafetensorsContents read_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  require(in.good(), path + ": cannot open file");
  const auto end = in.tellg();
  require(end >= 0, path + ": cannot read file size");
  // Tensors are read straight into their own memory; the file is never held whole.
  return parse(path, static_cast<std::uint64_t>(end), [&](std::uint64_t off, void* dst, std::size_t n) {
    in.seekg(static_cast<std::streamoff>(off));
    in.read(static_cast<char*>(dst), static_cast<std::streamsize>(n));
    require(in.good() && static_cast<std::size_t>(in.gcount()) == n,
            path + ": read error (file changed or truncated while reading)");
  });
}

std::string dtype_code(at::ScalarType type) {
  for (const auto& d : kDtypes)
    if (d.type == type) return d.code;
  return "";
}

bool looks_like_safetensors(const unsigned char* head, std::size_t head_size, std::uint64_t file_size) {
  if (head_size < 9 || file_size < 9) return false;
  const std::uint64_t n = read_le64(head);
  return n >= 2 && n <= file_size - 8 && head[8] == '{';
}

void write_safetensors(const std::string& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata) {
  Json header = Json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::unordered_set<std::string> seen;
  std::vector<at::Tensor> data;
  std::uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    require(!name.empty(), path + ": a tensor has an empty name");
    require(name != "__metadata__", path + ": '__metadata__' is reserved and cannot name a tensor");
    require(seen.insert(name).second, path + ": duplicate tensor name '" + clip(name) + "'");
    require(tensor.defined(), path + ": tensor '" + clip(name) + "' is undefined");
    const std::string code = dtype_code(tensor.scalar_type());
    require(!code.empty(), path + ": tensor '" + clip(name) + "' has dtype " +
                               std::string(c10::toString(tensor.scalar_type())) +
                               ", which safetensors does not store");
    at::Tensor t = tensor.detach().to(at::kCPU).contiguous();
    const std::uint64_t bytes = static_cast<std::uint64_t>(t.numel()) * t.element_size();
    header[name] = {{"dtype", code}, {"shape", t.sizes().vec()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    data.push_back(std::move(t));
  }
  std::string h = header.dump();
  // Padding the header to 8 bytes keeps every tensor aligned for memory-mapping readers.
  h.append((8 - h.size() % 8) % 8, ' ');
  unsigned char len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(static_cast<std::uint64_t>(h.size()) >> (8 * i));
  AtomicFile f(path);
  f.write(len, 8);
  f.write(h.data(), h.size());
  for (const at::Tensor& t : data)
    if (t.numel() > 0) f.write(t.data_ptr(), static_cast<std::size_t>(t.numel()) * t.element_size());
  f.commit();
}

}  // namespace rebasin::io
