#include "unpickler.h"

#include <cstdio>
#include <cstring>

#include "common/error.h"

namespace rebasin::io {
namespace {

using Kind = PyValue::Kind;

// A real state dict needs a few values per tensor; millions of objects mean a hostile file.
constexpr std::size_t kMaxValues = 4'000'000;

at::ScalarType storage_dtype(const std::string& global) {
  static const std::pair<const char*, at::ScalarType> kTypes[] = {
      {"torch FloatStorage", at::kFloat}, {"torch DoubleStorage", at::kDouble},
      {"torch HalfStorage", at::kHalf},   {"torch BFloat16Storage", at::kBFloat16},
      {"torch LongStorage", at::kLong},   {"torch IntStorage", at::kInt},
      {"torch ShortStorage", at::kShort}, {"torch CharStorage", at::kChar},
      {"torch ByteStorage", at::kByte},   {"torch BoolStorage", at::kBool}};
  for (const auto& [name, type] : kTypes)
    if (global == name) return type;
  return at::ScalarType::Undefined;
}

// Python decodes BINUNICODE strictly; so do we, which also keeps names printable as JSON.
bool valid_utf8(const std::string& s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return false;
    i += n;
  }
  return true;
}

bool as_int(const PyValue* v, std::int64_t& out) {
  if (v->kind == Kind::Bool) {
    out = v->boolean;
    return true;
  }
  if (v->kind != Kind::Int || v->big_int) return false;
  out = v->integer;
  return true;
}

bool int_tuple(const PyValue* v, std::vector<std::int64_t>& out) {
  if (v->kind != Kind::Tuple && v->kind != Kind::List) return false;
  out.clear();
  for (const PyValue* item : v->items) {
    std::int64_t x = 0;
    if (!as_int(item, x) || x < 0) return false;
    out.push_back(x);
  }
  return true;
}

// Globals that are plain data (or torch's own tensor rebuilders): a state dict, optimizer state
// and hyper-parameters need nothing else. Protocol 2 pickles spell builtins as __builtin__.
bool allowed_global(const std::string& module, const std::string& name) {
  static const char* const kBuiltins[] = {"set", "frozenset", "list", "dict", "tuple", "int", "float", "complex",
                                          "str", "bytes", "bytearray", "bool", "slice", "range"};
  static const char* const kTorch[] = {"Size", "device", "dtype", "Tensor", "float32", "float", "float64",
                                       "double", "float16", "half", "bfloat16", "int64", "long", "int32", "int",
                                       "int16", "short", "int8", "uint8", "bool", "complex64", "complex128",
                                       "strided", "sparse_coo", "preserve_format", "contiguous_format",
                                       "channels_last"};
  const auto in = [&](const auto& names) {
    for (const char* n : names)
      if (name == n) return true;
    return false;
  };
  if (module == "builtins" || module == "__builtin__") return in(kBuiltins);
  if (module == "collections") return name == "OrderedDict" || name == "defaultdict" || name == "deque";
  if (module == "copyreg" || module == "copy_reg") return name == "_reconstructor";  // its class is checked too
  if (module == "_codecs") return name == "encode";  // protocol 2's spelling of bytes
  if (module == "argparse") return name == "Namespace";
  if (module == "torch") return in(kTorch) || (name.size() > 7 && name.compare(name.size() - 7, 7, "Storage") == 0);
  if (module == "torch._utils") return name.rfind("_rebuild_", 0) == 0;
  if (module == "torch._tensor") return name == "_rebuild_from_type_v2";
  if (module == "torch.nn.parameter") return name == "Parameter";
  if (module == "torch.serialization") return name == "_get_layout";
  if (module == "numpy" || module == "numpy.core.multiarray" || module == "numpy._core.multiarray")
    return name == "dtype" || name == "ndarray" || name == "scalar" || name == "_reconstruct";
  return false;
}

std::size_t storage_element_size(const std::string& type) {
  static const std::pair<const char*, std::size_t> kSizes[] = {
      {"torch FloatStorage", 4},   {"torch DoubleStorage", 8},        {"torch HalfStorage", 2},
      {"torch BFloat16Storage", 2}, {"torch LongStorage", 8},         {"torch IntStorage", 4},
      {"torch ShortStorage", 2},   {"torch CharStorage", 1},          {"torch ByteStorage", 1},
      {"torch BoolStorage", 1},    {"torch ComplexFloatStorage", 8},  {"torch ComplexDoubleStorage", 16},
      {"torch QInt8Storage", 1},   {"torch QUInt8Storage", 1},        {"torch QInt32Storage", 4},
      {"torch QUInt4x2Storage", 1}, {"torch QUInt2x4Storage", 1}};
  for (const auto& [name, n] : kSizes)
    if (type == name) return n;
  return 0;
}

}  // namespace

std::size_t storage_element_size_of(const std::string& type) { return storage_element_size(type); }

const PyValue* PyValue::get(const std::string& key) const {
  if (kind != Kind::Dict) return nullptr;
  const auto it = index.find(key);
  return it == index.end() ? nullptr : entries[it->second].second;
}

Unpickler::Unpickler(const char* data, std::size_t size, std::string label, std::string file_label)
    : data_(data), size_(size), label_(std::move(label)), file_label_(file_label.empty() ? label_ : std::move(file_label)) {}

void Unpickler::fail(const std::string& what) const {
  throw UserError(label_ + ": " + what + " (at byte " + std::to_string(pos_) + ")");
}

PyValue* Unpickler::make(Kind kind) {
  if (arena_.size() >= kMaxValues) fail("too many objects in the pickle");
  arena_.emplace_back();
  arena_.back().kind = kind;
  return &arena_.back();
}

PyValue* Unpickler::pop() {
  if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back()))
    fail("malformed pickle (stack underflow)");
  PyValue* v = stack_.back();
  stack_.pop_back();
  return v;
}

std::vector<PyValue*> Unpickler::pop_mark() {
  if (marks_.empty()) fail("malformed pickle (no MARK)");
  const std::size_t m = marks_.back();
  marks_.pop_back();
  std::vector<PyValue*> items(stack_.begin() + static_cast<std::ptrdiff_t>(m), stack_.end());
  stack_.resize(m);
  return items;
}

const char* Unpickler::take(std::size_t n) {
  if (n > size_ - pos_) fail("truncated pickle");
  const char* p = data_ + pos_;
  pos_ += n;
  return p;
}

template <typename T>
T Unpickler::read_le() {
  const auto* p = reinterpret_cast<const unsigned char*>(take(sizeof(T)));
  std::uint64_t v = 0;
  for (std::size_t i = sizeof(T); i-- > 0;) v = (v << 8) | p[i];
  return static_cast<T>(v);
}

std::string Unpickler::read_line() {
  const void* nl = std::memchr(data_ + pos_, '\n', size_ - pos_);
  if (!nl) fail("truncated pickle (unterminated GLOBAL)");
  const std::size_t n = static_cast<std::size_t>(static_cast<const char*>(nl) - (data_ + pos_));
  std::string s(take(n), n);
  take(1);
  return s;
}

PyValue* Unpickler::global(const std::string& module, const std::string& name) {
  // Only a name is recorded; what a global means is decided in call()/persistent_load(). A name
  // outside the allowed set ends the parse: loading such a file in Python would run its code.
  if (!allowed_global(module, name)) {
    const auto plain = [](const std::string& t) {
      for (const char c : t)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
      return valid_utf8(t);
    };
    const bool printable = plain(module) && plain(name) && module.size() + name.size() < 200;
    const std::string what = printable ? module + "." + name : std::string("with an unprintable name");
    const bool torch_module = module.rfind("torch.nn.modules.", 0) == 0 || module.rfind("torchvision.", 0) == 0;
    throw UserError(file_label_ + ": refused: the file calls Python object " + what +
                    (torch_module ? " (a whole pickled model: save model.state_dict() instead)" : "") +
                    "; nothing was executed");
  }
  PyValue* g = make(Kind::Global);
  g->text = module + " " + name;
  return g;
}

PyValue* Unpickler::call(PyValue* callable, PyValue* args) {
  if (args->kind != Kind::Tuple) fail("malformed pickle (call arguments are not a tuple)");
  const std::string fn = callable->kind == Kind::Global ? callable->text : "";
  if (fn == "collections OrderedDict") return make(Kind::Dict);
  if (fn == "torch._utils _rebuild_tensor_v2") return rebuild_tensor(args->items);
  if (fn == "torch._utils _rebuild_parameter" || fn == "torch._utils _rebuild_parameter_with_state") {
    if (!args->items.empty() && args->items[0]->kind == Kind::Tensor) return args->items[0];
  }
  // Anything else is somebody's object: remember what built it, run nothing.
  PyValue* obj = make(Kind::Object);
  obj->text = fn.empty() ? "object" : fn;
  return obj;
}

PyValue* Unpickler::persistent_load(PyValue* pid) {
  // Zip format: ('storage', type, key, location, numel); legacy format: the same and a view,
  // None or (view key, offset, size) inside the storage `key`.
  std::int64_t numel = 0;
  if (pid->kind != Kind::Tuple || (pid->items.size() != 5 && pid->items.size() != 6) ||
      pid->items[0]->kind != Kind::String || pid->items[0]->text != "storage" ||
      pid->items[1]->kind != Kind::Global || pid->items[2]->kind != Kind::String ||
      !as_int(pid->items[4], numel) || numel < 0 || numel > (std::int64_t(1) << 56))
    fail("unsupported persistent id (expected ('storage', type, key, location, numel))");
  std::int64_t view_offset = 0, view_numel = -1;
  if (pid->items.size() == 6 && pid->items[5]->kind != Kind::None) {
    const PyValue* view = pid->items[5];
    if (view->kind != Kind::Tuple || view->items.size() != 3 || !as_int(view->items[1], view_offset) ||
        !as_int(view->items[2], view_numel) || view_offset < 0 || view_numel < 0 || view_offset > numel ||
        view_numel > numel - view_offset)
      fail("unsupported storage view (expected (key, offset, size) inside the storage)");
  }
  storage_types_.emplace(pid->items[2]->text, pid->items[1]->text);
  PyValue* s = make(Kind::Storage);
  s->dtype = storage_dtype(pid->items[1]->text);
  s->text = pid->items[2]->text;
  s->numel = numel;
  s->view_offset = view_offset;
  s->view_numel = view_numel;
  if (s->dtype == at::ScalarType::Undefined) {
    // Kept as an unusable storage: harmless unless a wanted tensor lives in it.
    PyValue* bad = make(Kind::Object);
    bad->text = "storage of type " + pid->items[1]->text;
    return bad;
  }
  return s;
}

PyValue* Unpickler::rebuild_tensor(const std::vector<PyValue*>& args) {
  // Errors here are recorded, not thrown: the tensor may sit in a part of the checkpoint
  // (optimizer state) that is never used.
  PyValue* t = make(Kind::Tensor);
  if (args.size() < 4) {
    t->text = "_rebuild_tensor_v2 called with " + std::to_string(args.size()) + " arguments";
    return t;
  }
  if (args[0]->kind != Kind::Storage) {
    t->text = "tensor data is a " + (args[0]->kind == Kind::Object ? args[0]->text : std::string("non-storage value"));
    return t;
  }
  t->storage = args[0];
  t->dtype = args[0]->dtype;
  if (!as_int(args[1], t->offset) || t->offset < 0 || !int_tuple(args[2], t->sizes) ||
      !int_tuple(args[3], t->strides) || t->sizes.size() != t->strides.size() || t->sizes.size() > 64) {
    t->text = "invalid tensor geometry (offset, size or stride)";
    return t;
  }
  // as_strided refuses negative sizes and strides (a c10::Error, not ours to let escape).
  for (std::size_t d = 0; d < t->sizes.size(); ++d)
    if (t->sizes[d] < 0 || t->strides[d] < 0) {
      t->text = "invalid tensor geometry (negative size or stride)";
      return t;
    }
  // Every element addressed must lie inside the storage; computed in 128 bits so no product of
  // hostile sizes can wrap around.
  __int128 numel = 1, last = t->offset;
  for (std::size_t d = 0; d < t->sizes.size(); ++d) {
    numel *= t->sizes[d];
    if (numel > (__int128(1) << 62)) numel = __int128(1) << 62;
    if (t->sizes[d] > 0) last += __int128(t->sizes[d] - 1) * t->strides[d];
  }
  const std::int64_t extent = args[0]->view_numel >= 0 ? args[0]->view_numel : args[0]->numel;
  const __int128 storage_numel = extent;
  if (numel > 0 && (last >= storage_numel || numel > storage_numel))
    t->text = "tensor view runs past the end of its storage (" + std::to_string(extent) + " elements)";
  else if (numel == 0 && t->offset > extent)
    t->text = "tensor offset runs past the end of its storage";
  t->offset += args[0]->view_offset;  // from here on, relative to the whole storage record
  return t;
}

void Unpickler::set_item(PyValue* dict, PyValue* key, PyValue* value) {
  if (dict->kind == Kind::Object) return;  // an object's __setitem__: not ours to emulate
  if (dict->kind != Kind::Dict) fail("malformed pickle (SETITEM on a non-dict)");
  if (key->kind == Kind::String) {
    const auto [it, added] = dict->index.emplace(key->text, dict->entries.size());
    if (!added) {
      dict->entries[it->second].second = value;  // Python semantics: a repeated key replaces
      return;
    }
  }
  dict->entries.emplace_back(key, value);
}

void Unpickler::append(PyValue* list, PyValue* item) {
  if (list->kind == Kind::Object) return;
  if (list->kind != Kind::List) fail("malformed pickle (APPEND on a non-list)");
  list->items.push_back(item);
}

const PyValue& Unpickler::parse() {
  while (true) {
    const auto op = static_cast<unsigned char>(*take(1));
    switch (op) {
      case 0x80: {  // PROTO
        const auto proto = static_cast<unsigned char>(*take(1));
        if (proto > 5) fail("unsupported pickle protocol " + std::to_string(proto));
        break;
      }
      case 0x95: take(8); break;  // FRAME: a hint for buffered readers
      case '.': {  // STOP
        PyValue* result = pop();
        return *result;
      }
      case 'c': {  // GLOBAL
        const std::string module = read_line();
        const std::string name = read_line();
        stack_.push_back(global(module, name));
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        PyValue* name = pop();
        PyValue* module = pop();
        if (name->kind != Kind::String || module->kind != Kind::String) fail("malformed STACK_GLOBAL");
        stack_.push_back(global(module->text, name->text));
        break;
      }
      case 'q': case 'r': case 0x94: {  // BINPUT, LONG_BINPUT, MEMOIZE
        if (stack_.empty()) fail("malformed pickle (memo of an empty stack)");
        const std::uint32_t idx = op == 'q'   ? read_le<std::uint8_t>()
                                  : op == 'r' ? read_le<std::uint32_t>()
                                              : static_cast<std::uint32_t>(memo_.size());
        memo_[idx] = stack_.back();
        break;
      }
      case 'h': case 'j': {  // BINGET, LONG_BINGET
        const std::uint32_t idx = op == 'h' ? read_le<std::uint8_t>() : read_le<std::uint32_t>();
        const auto it = memo_.find(idx);
        if (it == memo_.end()) fail("malformed pickle (memo key " + std::to_string(idx) + " missing)");
        stack_.push_back(it->second);
        break;
      }
      case '(': marks_.push_back(stack_.size()); break;  // MARK
      case '0': pop(); break;                            // POP
      case '1': pop_mark(); break;                       // POP_MARK
      case '2': {                                        // DUP
        PyValue* top = pop();
        stack_.push_back(top);
        stack_.push_back(top);
        break;
      }
      case ')': stack_.push_back(make(Kind::Tuple)); break;                      // EMPTY_TUPLE
      case '}': stack_.push_back(make(Kind::Dict)); break;                       // EMPTY_DICT
      case ']': case 0x8f: stack_.push_back(make(Kind::List)); break;            // EMPTY_LIST, EMPTY_SET
      case 't': case 'l': case 0x91: {                                           // TUPLE, LIST, FROZENSET
        PyValue* v = make(op == 't' ? Kind::Tuple : Kind::List);
        v->items = pop_mark();
        stack_.push_back(v);
        break;
      }
      case 0x85: case 0x86: case 0x87: {  // TUPLE1..3
        PyValue* v = make(Kind::Tuple);
        v->items.resize(op - 0x84u);
        for (std::size_t i = v->items.size(); i-- > 0;) v->items[i] = pop();
        stack_.push_back(v);
        break;
      }
      case 'd': {  // DICT
        const std::vector<PyValue*> items = pop_mark();
        if (items.size() % 2) fail("malformed pickle (odd DICT)");
        PyValue* d = make(Kind::Dict);
        for (std::size_t i = 0; i < items.size(); i += 2) set_item(d, items[i], items[i + 1]);
        stack_.push_back(d);
        break;
      }
      case 'R': case 0x81: {  // REDUCE, NEWOBJ
        PyValue* args = pop();
        PyValue* callable = pop();
        stack_.push_back(call(callable, args));
        break;
      }
      case 0x92: {  // NEWOBJ_EX
        pop();  // kwargs
        PyValue* args = pop();
        PyValue* cls = pop();
        stack_.push_back(call(cls, args));
        break;
      }
      case 'b': {  // BUILD: the state would go to __setstate__; we keep the object as it is
        pop();
        PyValue* obj = pop();
        stack_.push_back(obj);
        break;
      }
      case 's': {  // SETITEM
        PyValue* value = pop();
        PyValue* key = pop();
        PyValue* d = pop();
        set_item(d, key, value);
        stack_.push_back(d);
        break;
      }
      case 'u': {  // SETITEMS
        const std::vector<PyValue*> items = pop_mark();
        if (items.size() % 2) fail("malformed pickle (odd SETITEMS)");
        PyValue* d = pop();
        for (std::size_t i = 0; i < items.size(); i += 2) set_item(d, items[i], items[i + 1]);
        stack_.push_back(d);
        break;
      }
      case 'a': {  // APPEND
        PyValue* item = pop();
        PyValue* list = pop();
        append(list, item);
        stack_.push_back(list);
        break;
      }
      case 'e': case 0x90: {  // APPENDS, ADDITEMS
        const std::vector<PyValue*> items = pop_mark();
        PyValue* list = pop();
        for (PyValue* item : items) append(list, item);
        stack_.push_back(list);
        break;
      }
      case 'X': case 0x8c: case 0x8d: case 'B': case 'C': case 0x8e: case 'T': case 'U': {
        // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8, BINBYTES, SHORT_BINBYTES, BINBYTES8,
        // BINSTRING, SHORT_BINSTRING: a length, then that many bytes.
        const std::uint64_t n = (op == 0x8c || op == 'C' || op == 'U') ? read_le<std::uint8_t>()
                                : (op == 0x8d || op == 0x8e)           ? read_le<std::uint64_t>()
                                                                       : read_le<std::uint32_t>();
        const bool unicode = op == 'X' || op == 0x8c || op == 0x8d;
        if (n > size_ - pos_) fail("truncated pickle (string of " + std::to_string(n) + " bytes)");
        PyValue* v = make(unicode ? Kind::String : Kind::Bytes);
        v->text.assign(take(n), n);
        if (unicode && !valid_utf8(v->text)) fail("malformed pickle (string is not UTF-8)");
        stack_.push_back(v);
        break;
      }
      case 'J': case 'K': case 'M': {  // BININT (int32), BININT1 (uint8), BININT2 (uint16)
        PyValue* v = make(Kind::Int);
        v->integer = op == 'J' ? read_le<std::int32_t>() : op == 'K' ? read_le<std::uint8_t>() : read_le<std::uint16_t>();
        stack_.push_back(v);
        break;
      }
      case 0x8a: case 0x8b: {  // LONG1, LONG4: little-endian two's complement of n bytes
        const std::int64_t n = op == 0x8a ? read_le<std::uint8_t>() : read_le<std::int32_t>();
        if (n < 0) fail("malformed pickle (negative LONG4 length)");
        const auto* p = reinterpret_cast<const unsigned char*>(take(static_cast<std::size_t>(n)));
        PyValue* v = make(Kind::Int);
        if (n > 8) {
          v->big_int = true;
          v->text.assign(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));
        } else if (n > 0) {
          std::uint64_t u = 0;
          for (std::int64_t i = n; i-- > 0;) u = (u << 8) | p[i];
          if (n < 8 && (p[n - 1] & 0x80)) u |= ~std::uint64_t(0) << (8 * n);  // sign-extend
          v->integer = static_cast<std::int64_t>(u);
        }
        stack_.push_back(v);
        break;
      }
      case 'G': {  // BINFLOAT: big-endian IEEE double
        const auto* p = reinterpret_cast<const unsigned char*>(take(8));
        std::uint64_t u = 0;
        for (int i = 0; i < 8; ++i) u = (u << 8) | p[i];
        PyValue* v = make(Kind::Float);
        std::memcpy(&v->real, &u, 8);
        stack_.push_back(v);
        break;
      }
      case 0x88: case 0x89: {  // NEWTRUE, NEWFALSE
        PyValue* v = make(Kind::Bool);
        v->boolean = op == 0x88;
        stack_.push_back(v);
        break;
      }
      case 'N': stack_.push_back(make(Kind::None)); break;  // NONE
      case 'Q': stack_.push_back(persistent_load(pop())); break;  // BINPERSID
      default: {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", op);
        fail(std::string("unsupported pickle opcode ") + hex);
      }
    }
  }
}

}  // namespace rebasin::io
