// A small, safe reader for the pickle streams of torch.save files (data.pkl in the zip format,
// the chain of pickles of the legacy format). It builds plain values - never imports or calls
// anything. The few globals a state dict needs (OrderedDict, _rebuild_tensor_v2,
// _rebuild_parameter, torch.<T>Storage) are interpreted; the other globals of an allowed set of
// inert data types (Python's built-in containers, argparse.Namespace, torch's Size, device and
// dtypes, numpy scalars and arrays) become opaque placeholders, so optimizer states and
// hyper-parameters parse fine and are simply not tensors. A global outside that set (os.system,
// a user's own class, a whole pickled nn.Module) is refused: torch.load would import and run it.
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
  // Int (big_int): the little-endian two's complement bytes are kept in `text`.
  at::ScalarType dtype = at::ScalarType::Undefined;
  std::int64_t numel = 0;
  // Storage that is a view of its record (legacy format): where the view starts and its length.
  std::int64_t view_offset = 0, view_numel = -1;
  PyValue* storage = nullptr;
  std::int64_t offset = 0;
  std::vector<std::int64_t> sizes, strides;

  // The value under a string key of a Dict, or nullptr.
  const PyValue* get(const std::string& key) const;
};

// Bytes per element of a torch.<T>Storage global ("torch FloatStorage" -> 4); 0 if unknown.
std::size_t storage_element_size_of(const std::string& type);

// Owns every value of one parse (flat, so deep or cyclic pickles cannot blow the stack on
// destruction) and runs the opcodes.
class Unpickler {
 public:
  // `label` names the source in error messages (e.g. "model.pt: data.pkl"); `file_label` names
  // the file in the refusal of a global (default: `label`).
  Unpickler(const char* data, std::size_t size, std::string label, std::string file_label = {});
  // Parses the stream up to STOP; UserError on malformed or unsupported input, and on a global
  // outside the allowed set ("refused: the file calls Python object os.system; ...").
  const PyValue& parse();
  // Bytes consumed by parse() (the next pickle of a chain starts there).
  std::size_t consumed() const { return pos_; }
  // Every storage the persistent ids named: record key -> storage type ("torch FloatStorage").
  const std::unordered_map<std::string, std::string>& storage_types() const { return storage_types_; }

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
  std::string label_, file_label_;
  std::deque<PyValue> arena_;
  std::vector<PyValue*> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<std::uint32_t, PyValue*> memo_;
  std::unordered_map<std::string, std::string> storage_types_;
};

}  // namespace rebasin::io
