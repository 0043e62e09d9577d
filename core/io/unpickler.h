// A small, safe reader for the pickle streams inside torch.save archives (data.pkl). It builds
// plain values - never imports or calls anything. The few globals a state dict needs
// (OrderedDict, _rebuild_tensor_v2, _rebuild_parameter, torch.<T>Storage) are interpreted; any
// other global becomes an opaque placeholder, so optimizer states, hyper-parameters and other
// objects in a checkpoint parse fine and are simply not tensors.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace rebasin::io {

struct PyValue {
  enum class Kind { None, Bool, Int, Float, String, Bytes, Tuple, List, Dict, Global, Object, Storage, Tensor };
  Kind kind = Kind::None;
  bool boolean = false;
  bool big_int = false;       // an int beyond int64 (kept only as a marker)
  std::int64_t integer = 0;
  double real = 0;
  std::string text;           // String/Bytes; Global: "module name"; Object: what it was built from;
                              // Storage: record key; Tensor: why it cannot be built ("" if it can)
  std::vector<PyValue*> items;                          // Tuple, List
  std::vector<std::pair<PyValue*, PyValue*>> entries;   // Dict, in insertion order
  std::unordered_map<std::string, std::size_t> index;   // Dict: string key -> position
  // Storage: element type and count; Tensor: its storage and geometry (built on demand).
  at::ScalarType dtype = at::ScalarType::Undefined;
  std::int64_t numel = 0;
  PyValue* storage = nullptr;
  std::int64_t offset = 0;
  std::vector<std::int64_t> sizes, strides;

  // The value under a string key of a Dict, or nullptr.
  const PyValue* get(const std::string& key) const;
};

// Owns every value of one parse (flat, so deep or cyclic pickles cannot blow the stack on
// destruction) and runs the opcodes.
class Unpickler {
 public:
  // `label` names the source in error messages (e.g. "model.pt: data.pkl").
  Unpickler(const char* data, std::size_t size, std::string label);
  // Parses the whole stream up to STOP; UserError on malformed or unsupported input.
  const PyValue& parse();

 private:
  PyValue* make(PyValue::Kind kind);
  PyValue* pop();
  std::vector<PyValue*> pop_mark();
  [[noreturn]] void fail(const std::string& what) const;
  const char* take(std::size_t n);
  std::string read_line();
  template <typename T> T read_le();
  PyValue* global(const std::string& module, const std::string& name);
  PyValue* call(PyValue* callable, PyValue* args);
  PyValue* persistent_load(PyValue* pid);
  PyValue* rebuild_tensor(const std::vector<PyValue*>& args);
  void set_item(PyValue* dict, PyValue* key, PyValue* value);
  void append(PyValue* list, PyValue* item);

  const char* data_;
  std::size_t size_, pos_ = 0;
  std::string label_;
  std::deque<PyValue> arena_;
  std::vector<PyValue*> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<std::uint32_t, PyValue*> memo_;
};

}  // namespace rebasin::io
