#include "torch_archive.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <caffe2/serialize/file_adapter.h>
#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/serialization/import.h>

#include <algorithm>
#include <cstring>
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

// Where torch.save users put the state dict; checked in this order after the top level.
const char* const kNestings[] = {"state_dict", "model", "model_state_dict", "module", "net", "network", "ema"};

const PyValue* find_state_dict(const PyValue& root, const std::string& label, std::string& nesting) {
  nesting.clear();
  if (is_tensor_dict(&root)) return &root;
  require(root.kind == PyValue::Kind::Dict,
          label + ": holds " + describe(&root) + ", not a state dict; save model.state_dict() instead");
  for (const char* key : kNestings) {
    if (const PyValue* v = root.get(key)) {
      if (is_tensor_dict(v)) {
        nesting = key;
        return v;
      }
      require(v->kind != PyValue::Kind::Object, label + ": '" + key + "' holds " + describe(v) +
                                                    ", not a state dict; save model.state_dict() instead");
    }
  }
  std::string keys;
  for (std::size_t i = 0; i < root.entries.size() && i < 8; ++i)
    if (root.entries[i].first->kind == PyValue::Kind::String)
      keys += (keys.empty() ? "" : ", ") + root.entries[i].first->text;
  throw UserError(label + ": no state dict found (a dict whose values are all tensors; top-level keys: " +
                  (keys.empty() ? "none" : keys) + ")");
}

StateDict read_archive(const std::shared_ptr<ReadAdapterInterface>& in, const std::string& label) {
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
  Unpickler unpickler(static_cast<const char*>(pkl.get()), pkl_size, label + ": data.pkl");
  const PyValue& root = unpickler.parse();
  StateDict out;
  const PyValue* dict = find_state_dict(root, label, out.nesting);

  // Storages are loaded once each, only for the tensors kept (optimizer state is never read);
  // views of one storage share it, and every result is its own contiguous copy.
  std::unordered_map<std::string, at::Tensor> storages;
  for (const auto& [key, t] : dict->entries) {
    const std::string where = label + ": tensor '" + key->text + "'";
    require(t->text.empty(), where + ": " + t->text);
    const PyValue& s = *t->storage;
    auto it = storages.find(s.text);
    if (it == storages.end()) {
      const std::string rec = "data/" + s.text;
      const auto r = by_name.find(prefix + rec);
      require(r != by_name.end(), where + ": storage record " + rec + " is missing");
      check_stored(rec);
      const std::uint64_t need = static_cast<std::uint64_t>(s.numel) * c10::elementSize(s.dtype);
      require(r->second->size >= need, where + ": storage record " + rec + " has " +
                                           std::to_string(r->second->size) + " bytes, expected " +
                                           std::to_string(need));
      const auto opts = at::TensorOptions().dtype(s.dtype);
      at::Tensor st;
      if (s.numel == 0) {
        st = at::empty({0}, opts);
      } else {
        auto [ptr, n] = get(rec);
        require(n >= need, where + ": storage record " + rec + " is short");
        auto holder = std::make_shared<at::DataPtr>(std::move(ptr));
        st = at::from_blob(holder->get(), {s.numel}, [holder](void*) {}, opts);
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
    out.tensors.push_back({key->text, value});
  }
  return out;
}

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

StateDict read_torch_archive(const std::string& path) {
  std::shared_ptr<ReadAdapterInterface> in;
  try {
    in = std::make_shared<caffe2::serialize::FileAdapter>(path);
  } catch (const c10::Error& e) {
    throw UserError(path + ": cannot read: " + first_line(e.what_without_backtrace()));
  }
  return read_archive(in, path);
}

StateDict parse_torch_archive(const void* data, std::size_t size, const std::string& label) {
  return read_archive(std::make_shared<BoundedMemoryAdapter>(data, size), label);
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
