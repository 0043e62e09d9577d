#include "torch_archive.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <caffe2/serialize/file_adapter.h>
#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/serialization/import.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <unordered_map>

#include "common/error.h"
#include "unpickler.h"

namespace rebasin::io {
namespace {

using caffe2::serialize::ReadAdapterInterface;

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

// Like LibTorch's MemoryReadAdapter, but a read past the end returns short instead of
// overrunning the buffer.
class BoundedMemoryAdapter final : public ReadAdapterInterface {
 public:
  BoundedMemoryAdapter(const void* data, std::size_t size) : data_(static_cast<const char*>(data)), size_(size) {}
  std::size_t size() const override { return size_; }
  std::size_t read(std::uint64_t pos, void* buf, std::size_t n, const char* = "") const override {
    if (pos >= size_) return 0;
    n = std::min<std::uint64_t>(n, size_ - pos);
    std::memcpy(buf, data_ + pos, n);
    return n;
  }

 private:
  const char* data_;
  std::size_t size_;
};

std::uint64_t le(const unsigned char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

void read_exact(const ReadAdapterInterface& in, std::uint64_t pos, void* buf, std::size_t n,
                const std::string& label) {
  require(in.read(pos, buf, n) == n, label + ": not a valid zip archive (truncated)");
}

std::vector<ZipRecord> scan_zip(const ReadAdapterInterface& in, const std::string& label) {
  const auto bad = [&](const std::string& why) {
    return UserError(label + ": not a valid zip archive (" + why + ")");
  };
  const std::uint64_t size = in.size();
  if (size < 22) throw bad("too short");
  // The end-of-central-directory record sits in the last 22 + 65535 (comment) bytes.
  const std::uint64_t tail_n = std::min<std::uint64_t>(size, 22 + 65535);
  std::vector<unsigned char> tail(tail_n);
  read_exact(in, size - tail_n, tail.data(), tail_n, label);
  std::int64_t e = static_cast<std::int64_t>(tail_n) - 22;
  while (e >= 0 && le(&tail[e], 4) != 0x06054b50) --e;
  if (e < 0) throw bad("no end of central directory: truncated?");
  const unsigned char* eocd = &tail[e];
  std::uint64_t count = le(eocd + 10, 2), cd_size = le(eocd + 12, 4), cd_off = le(eocd + 16, 4);
  if (count == 0xFFFF || cd_size == 0xFFFFFFFF || cd_off == 0xFFFFFFFF) {
    const std::uint64_t eocd_pos = size - tail_n + static_cast<std::uint64_t>(e);
    if (eocd_pos < 20) throw bad("zip64 locator missing");
    unsigned char loc[20], z64[56];
    read_exact(in, eocd_pos - 20, loc, 20, label);
    if (le(loc, 4) != 0x07064b50) throw bad("zip64 locator missing");
    const std::uint64_t z = le(loc + 8, 8);
    if (size < 56 || z > size - 56) throw bad("zip64 directory outside the file");
    read_exact(in, z, z64, 56, label);
    if (le(z64, 4) != 0x06064b50) throw bad("bad zip64 directory");
    count = le(z64 + 32, 8), cd_size = le(z64 + 40, 8), cd_off = le(z64 + 48, 8);
  }
  if (cd_off > size || cd_size > size - cd_off) throw bad("central directory outside the file");
  if (count > cd_size / 46) throw bad("central directory too small for its entry count");
  std::vector<unsigned char> cd(cd_size);
  read_exact(in, cd_off, cd.data(), cd_size, label);

  std::vector<ZipRecord> records;
  std::uint64_t q = 0;
  for (std::uint64_t i = 0; i < count; ++i) {
    if (cd_size - q < 46 || le(&cd[q], 4) != 0x02014b50) throw bad("corrupt central directory");
    const unsigned char* h = &cd[q];
    const std::uint64_t method = le(h + 10, 2), nlen = le(h + 28, 2), xlen = le(h + 30, 2), clen = le(h + 32, 2);
    std::uint64_t comp = le(h + 20, 4), uncomp = le(h + 24, 4), local = le(h + 42, 4);
    if (cd_size - q - 46 < nlen + xlen + clen) throw bad("corrupt central directory");
    ZipRecord r;
    r.name.assign(reinterpret_cast<const char*>(h + 46), nlen);
    // Sizes too big for 32 bits live in the zip64 extra field, in this fixed order.
    for (const unsigned char *x = h + 46 + nlen, *xend = x + xlen; xend - x >= 4;) {
      const std::uint64_t id = le(x, 2), len = le(x + 2, 2);
      if (static_cast<std::uint64_t>(xend - x - 4) < len) break;
      if (id == 1) {
        const unsigned char* f = x + 4;
        std::uint64_t left = len;
        for (std::uint64_t* field : {&uncomp, &comp, &local}) {
          if (*field != 0xFFFFFFFF) continue;
          if (left < 8) throw bad("corrupt zip64 extra field");
          *field = le(f, 8), f += 8, left -= 8;
        }
      }
      x += 4 + len;
    }
    q += 46 + nlen + xlen + clen;
    // torch.save stores every record; TorchScript deflates its code/ records (read by LibTorch).
    if (method != 0 && method != 8) throw bad("record '" + r.name + "' uses compression method " + std::to_string(method));
    r.compressed = method != 0;
    if (!r.compressed && comp != uncomp) throw bad("record '" + r.name + "' has inconsistent sizes");
    if (size < 30 || local > size - 30) throw bad("record '" + r.name + "' outside the file");
    unsigned char lh[30];
    read_exact(in, local, lh, 30, label);
    if (le(lh, 4) != 0x04034b50) throw bad("corrupt local header of '" + r.name + "'");
    r.data_offset = local + 30 + le(lh + 26, 2) + le(lh + 28, 2);
    if (r.data_offset > size || comp > size - r.data_offset) throw bad("record '" + r.name + "' runs past the end: truncated?");
    r.size = comp;
    records.push_back(std::move(r));
  }
  return records;
}

bool is_tensor_dict(const PyValue* v) {
  if (!v || v->kind != PyValue::Kind::Dict || v->entries.empty()) return false;
  return std::all_of(v->entries.begin(), v->entries.end(), [](const auto& kv) {
    return kv.first->kind == PyValue::Kind::String && kv.second->kind == PyValue::Kind::Tensor;
  });
}

std::string describe(const PyValue* v) {
  if (v->kind == PyValue::Kind::Object) return "a pickled Python object (" + v->text + ")";
  if (v->kind == PyValue::Kind::Dict) return "a dict without tensors";
  if (v->kind == PyValue::Kind::Tensor) return "a single tensor";
  return "a value that is not a dict";
}

// A name from the file as error messages show it: one line, not too long.
std::string shown(const std::string& name) {
  std::string out = name.size() > 80 ? name.substr(0, 77) + "..." : name;
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return out;
}

// Where torch.save users put the state dict; checked in this order after the top level.
const char* const kNestings[] = {"state_dict", "model", "model_state_dict", "module", "net", "network", "ema"};

std::string key_list(const PyValue& root, const std::string& skip = {}) {
  std::string keys;
  std::size_t n = 0;
  for (const auto& [k, v] : root.entries) {
    if (k->kind != PyValue::Kind::String || k->text == skip) continue;
    if (++n > 8) return keys + ", ...";
    keys += (keys.empty() ? "" : ", ") + shown(k->text);
  }
  return keys;
}

// The state dict inside `root`: the top level, the entry `key` when given, else the first of
// kNestings that holds one, else the only top-level entry that holds one.
const PyValue* find_state_dict(const PyValue& root, const std::string& label, const std::string& key,
                               std::string& nesting) {
  nesting.clear();
  if (key.empty() && is_tensor_dict(&root)) return &root;
  require(root.kind == PyValue::Kind::Dict,
          label + ": holds " + describe(&root) + ", not a state dict; save model.state_dict() instead");
  if (!key.empty()) {
    const PyValue* v = root.get(key);
    require(v, label + ": no entry '" + key + "' (--key; top-level keys: " +
                   (root.entries.empty() ? "none" : key_list(root)) + ")");
    require(is_tensor_dict(v), label + ": '" + key + "' holds " + describe(v) + ", not a state dict");
    nesting = key;
    return v;
  }
  for (const char* known : kNestings) {
    if (const PyValue* v = root.get(known)) {
      if (is_tensor_dict(v)) {
        nesting = known;
        return v;
      }
      require(v->kind != PyValue::Kind::Object, label + ": '" + known + "' holds " + describe(v) +
                                                    ", not a state dict; save model.state_dict() instead");
    }
  }
  std::vector<std::string> candidates;
  for (const auto& [k, v] : root.entries)
    if (k->kind == PyValue::Kind::String && is_tensor_dict(v)) candidates.push_back(k->text);
  if (candidates.size() == 1) {
    nesting = candidates[0];
    return root.get(nesting);
  }
  if (candidates.size() > 1) {
    std::string names;
    for (const std::string& c : candidates) names += (names.empty() ? "" : ", ") + shown(c);
    throw UserError(label + ": holds several state dicts (" + names + "); choose one with --key NAME");
  }
  throw UserError(label + ": no state dict found (a dict whose values are all tensors; top-level keys: " +
                  (root.entries.empty() ? "none" : key_list(root)) + ")");
}

// The whole storage record a tensor's Storage value names, as a flat tensor of its dtype with at
// least s.numel elements (it may be a view of the file's bytes: build_state_dict copies).
using StorageLoader = std::function<at::Tensor(const PyValue& s, const std::string& where)>;

StateDict build_state_dict(const PyValue& root, const std::string& label, const std::string& key,
                           const StorageLoader& load) {
  StateDict out;
  const PyValue* dict = find_state_dict(root, label, key, out.nesting);
  if (!out.nesting.empty())
    for (const auto& [k, v] : root.entries)
      if (k->kind == PyValue::Kind::String) out.entries.push_back(k->text);

  // Storages are loaded once each, only for the tensors kept (optimizer state is never read);
  // views of one storage share it, and every result is its own contiguous copy.
  std::unordered_map<std::string, at::Tensor> storages;
  for (const auto& [name, t] : dict->entries) {
    const std::string where = label + ": tensor '" + shown(name->text) + "'";
    require(t->text.empty(), where + ": " + t->text);
    const PyValue& s = *t->storage;
    auto it = storages.find(s.text);
    if (it == storages.end()) {
      at::Tensor st;
      if (s.numel == 0) {
        st = at::empty({0}, at::TensorOptions().dtype(s.dtype));
      } else {
        st = load(s, where);
        // Bytes other than 0/1 are not valid bools; normalising also copies off the record.
        if (s.dtype == at::kBool) st = st.view(at::kByte).ne(0);
      }
      it = storages.emplace(s.text, st).first;
    }
    // A second reference to the same record must not claim a larger or differently typed
    // storage than the one loaded (the view checks used the claimed size).
    require(it->second.numel() >= s.numel && it->second.scalar_type() == s.dtype,
            where + ": storage record data/" + s.text + " is declared with two different sizes or types");
    at::Tensor value = at::empty(t->sizes, at::TensorOptions().dtype(s.dtype));
    value.copy_(it->second.as_strided(t->sizes, t->strides, t->offset));
    out.tensors.push_back({name->text, value});
  }
  return out;
}

StateDict read_archive(const std::shared_ptr<ReadAdapterInterface>& in, const std::string& label,
                       const std::string& key) {
  const std::vector<ZipRecord> records = scan_zip(*in, label);
  require(!records.empty(), label + ": empty zip archive, not a PyTorch checkpoint");
  require(!is_torchscript(records), label + ": is a TorchScript archive, not a torch.save archive");
  // LibTorch's reader takes the first record's top directory as the archive's prefix.
  const std::string prefix = records[0].name.substr(0, records[0].name.find('/')) + "/";
  std::unordered_map<std::string, const ZipRecord*> by_name;
  for (const ZipRecord& r : records) by_name.emplace(r.name, &r);
  require(by_name.count(prefix + "data.pkl") == 1,
          label + ": zip archive without " + prefix + "data.pkl: not a PyTorch checkpoint");
  // Only stored records are read, so no size from the file can make LibTorch inflate a bomb.
  const auto check_stored = [&](const std::string& name) {
    const auto it = by_name.find(prefix + name);
    require(it != by_name.end(), label + ": record " + prefix + name + " is missing");
    require(!it->second->compressed, label + ": record " + prefix + name +
                                         " is compressed; torch.save archives store records uncompressed");
  };

  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
  const auto get = [&](const std::string& name) {
    try {
      if (!reader) reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(in);
      return reader->getRecord(name);
    } catch (const c10::Error& e) {
      throw UserError(label + ": unreadable PyTorch archive: " + first_line(e.what_without_backtrace()));
    }
  };
  if (by_name.count(prefix + "byteorder")) {
    check_stored("byteorder");
    auto [ptr, n] = get("byteorder");
    const std::string order(static_cast<const char*>(ptr.get()), n);
    require(order == "little", label + ": storages are " + order + "-endian; only little-endian is supported");
  }
  check_stored("data.pkl");
  auto [pkl, pkl_size] = get("data.pkl");
  Unpickler unpickler(static_cast<const char*>(pkl.get()), pkl_size, label + ": data.pkl", label);
  const PyValue& root = unpickler.parse();
  return build_state_dict(root, label, key, [&](const PyValue& s, const std::string& where) {
    const std::string rec = "data/" + s.text;
    const auto r = by_name.find(prefix + rec);
    require(r != by_name.end(), where + ": storage record " + shown(rec) + " is missing");
    check_stored(rec);
    const std::uint64_t need = static_cast<std::uint64_t>(s.numel) * c10::elementSize(s.dtype);
    require(r->second->size >= need, where + ": storage record " + rec + " has " +
                                         std::to_string(r->second->size) + " bytes, expected " +
                                         std::to_string(need));
    auto [ptr, n] = get(rec);
    require(n >= need, where + ": storage record " + rec + " is short");
    auto holder = std::make_shared<at::DataPtr>(std::move(ptr));
    return at::from_blob(holder->get(), {s.numel}, [holder](void*) {}, at::TensorOptions().dtype(s.dtype));
  });
}

// torch.save's magic number (0x1950a86a20f9469cfc6c), little-endian, as the first pickle holds it.
const char kLegacyMagic[] = "\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19";

}  // namespace

std::vector<ZipRecord> list_zip_records(const void* data, std::size_t size, const std::string& label) {
  return scan_zip(BoundedMemoryAdapter(data, size), label);
}

std::vector<ZipRecord> list_zip_records(const std::string& path) {
  try {
    return scan_zip(caffe2::serialize::FileAdapter(path), path);
  } catch (const c10::Error& e) {
    throw UserError(path + ": cannot read: " + first_line(e.what_without_backtrace()));
  }
}

bool is_torchscript(const std::vector<ZipRecord>& records) {
  return std::any_of(records.begin(), records.end(), [](const ZipRecord& r) {
    const auto slash = r.name.find('/');
    const std::string rest = slash == std::string::npos ? r.name : r.name.substr(slash + 1);
    return rest == "constants.pkl" || rest.rfind("code/", 0) == 0;
  });
}

StateDict read_torch_archive(const std::string& path, const std::string& key) {
  std::shared_ptr<ReadAdapterInterface> in;
  try {
    in = std::make_shared<caffe2::serialize::FileAdapter>(path);
  } catch (const c10::Error& e) {
    throw UserError(path + ": cannot read: " + first_line(e.what_without_backtrace()));
  }
  return read_archive(in, path, key);
}

StateDict parse_torch_archive(const void* data, std::size_t size, const std::string& label, const std::string& key) {
  return read_archive(std::make_shared<BoundedMemoryAdapter>(data, size), label, key);
}

bool is_legacy_torch(const void* data, std::size_t size) {
  // PROTO n, LONG1 10 <magic> STOP: how every protocol writes that first pickle (a FRAME first
  // from protocol 4 on).
  const auto* p = static_cast<const unsigned char*>(data);
  if (size < 15 || p[0] != 0x80) return false;
  std::size_t at = 2;
  if (p[1] >= 4 && p[2] == 0x95) at += 9;
  return size >= at + 13 && p[at] == 0x8a && p[at + 1] == 10 && std::memcmp(p + at + 2, kLegacyMagic, 10) == 0;
}

StateDict parse_legacy_torch(const void* data, std::size_t size, const std::string& label, const std::string& key) {
  const char* bytes = static_cast<const char*>(data);
  const std::string where = label + ": legacy torch.save file";
  require(is_legacy_torch(data, size), label + ": a Python pickle without torch.save's magic number, not a checkpoint");
  std::deque<Unpickler> pickles;  // the values of every pickle live until the tensors are copied
  std::size_t pos = 0;
  const auto next = [&](const char* what) -> const PyValue& {
    require(pos < size, where + ": ends before its " + what + " (truncated)");
    Unpickler& u = pickles.emplace_back(bytes + pos, size - pos, where + ": " + what, label);
    const PyValue& v = u.parse();
    pos += u.consumed();
    return v;
  };
  next("magic number");
  const PyValue& protocol = next("protocol version");
  require(protocol.kind == PyValue::Kind::Int && protocol.integer == 1001,
          where + ": unsupported protocol version (expected 1001)");
  const PyValue& sys_info = next("system info");
  if (const PyValue* little = sys_info.get("little_endian"))
    require(little->kind == PyValue::Kind::Bool && little->boolean,
            where + ": storages are big-endian; only little-endian is supported");
  const PyValue& root = next("data pickle");
  const Unpickler& data_pickle = pickles.back();
  const PyValue& keys = next("storage keys");
  require(keys.kind == PyValue::Kind::List, where + ": the storage keys are not a list");

  // Then every storage in the keys' order: an int64 element count and that many elements.
  struct Raw {
    std::int64_t numel;
    const char* bytes;
  };
  std::unordered_map<std::string, Raw> raw;
  for (const PyValue* k : keys.items) {
    require(k->kind == PyValue::Kind::String, where + ": a storage key is not a string");
    const auto type = data_pickle.storage_types().find(k->text);
    require(type != data_pickle.storage_types().end(),
            where + ": storage '" + shown(k->text) + "' is listed but no tensor uses it");
    const std::size_t element = storage_element_size_of(type->second);
    require(element > 0, where + ": storage '" + shown(k->text) + "' has an unsupported type (" + shown(type->second) + ")");
    require(size - pos >= 8, where + ": storage '" + shown(k->text) + "' is missing (truncated)");
    std::uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[pos + i]);
    pos += 8;
    require(n <= (std::uint64_t(1) << 56) && n * element <= size - pos,
            where + ": storage '" + shown(k->text) + "' runs past the end of the file (truncated)");
    require(raw.emplace(k->text, Raw{static_cast<std::int64_t>(n), bytes + pos}).second,
            where + ": storage '" + shown(k->text) + "' is listed twice");
    pos += n * element;
  }
  return build_state_dict(root, label, key, [&](const PyValue& s, const std::string& tensor) {
    const auto r = raw.find(s.text);
    require(r != raw.end(), tensor + ": storage '" + shown(s.text) + "' is not in the file");
    require(r->second.numel >= s.numel, tensor + ": storage '" + shown(s.text) + "' has " +
                                            std::to_string(r->second.numel) + " elements, expected " +
                                            std::to_string(s.numel));
    // Copied out: the file's bytes are not aligned for the element type.
    at::Tensor st = at::empty({s.numel}, at::TensorOptions().dtype(s.dtype));
    std::memcpy(st.data_ptr(), r->second.bytes, static_cast<std::size_t>(s.numel) * st.element_size());
    return st;
  });
}

StateDict read_legacy_torch(const std::string& path, const std::string& key) {
  std::ifstream in(path, std::ios::binary);
  require(in.good(), path + ": cannot open file");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  require(!in.bad(), path + ": cannot read file");
  return parse_legacy_torch(bytes.data(), bytes.size(), path, key);
}

NamedTensors read_torchscript(const std::string& path) {
  list_zip_records(path);  // same directory checks as torch.save files
  torch::jit::Module module;
  try {
    module = torch::jit::load(path, c10::Device(c10::kCPU));
  } catch (const c10::Error& e) {
    throw UserError(path + ": cannot load TorchScript archive: " + first_line(e.what_without_backtrace()));
  } catch (const std::exception& e) {
    throw UserError(path + ": cannot load TorchScript archive: " + first_line(e.what()));
  }
  // Module by module, parameters then buffers: the order of Module.state_dict().
  NamedTensors out;
  for (const auto& sub : module.named_modules()) {
    const std::string prefix = sub.name.empty() ? "" : sub.name + ".";
    for (const auto& p : sub.value.named_parameters(/*recurse=*/false))
      out.push_back({prefix + p.name, p.value.detach()});
    for (const auto& b : sub.value.named_buffers(/*recurse=*/false))
      out.push_back({prefix + b.name, b.value.detach()});
  }
  return out;
}

}  // namespace rebasin::io
