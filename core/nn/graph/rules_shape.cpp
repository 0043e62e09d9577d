// The rules of views, axis reorders, slicing, joining and splitting, reductions, pooling,
// factories and the graph's own structure (lists, tuples, constants), and the dispatcher.
#include <ATen/core/ivalue.h>

#include <set>

#include "nn/graph/analysis.h"
#include "nn/graph/rules_internal.h"

namespace rebasin::nn::graph {

namespace jit = torch::jit;

namespace {

const std::set<std::string> kElementwise = {
    "aten::add", "aten::add_", "aten::sub", "aten::sub_", "aten::rsub", "aten::mul", "aten::mul_", "aten::div",
    "aten::div_", "aten::true_divide", "aten::floor_divide", "aten::remainder", "aten::fmod", "aten::pow",
    "aten::pow_", "aten::maximum", "aten::minimum", "aten::atan2", "aten::hypot", "aten::eq", "aten::ne",
    "aten::lt", "aten::le", "aten::gt", "aten::ge", "aten::__and__", "aten::__or__", "aten::__xor__",
    "aten::bitwise_and", "aten::bitwise_or", "aten::bitwise_not", "aten::logical_and", "aten::logical_or",
    "aten::logical_xor", "aten::logical_not", "aten::where", "aten::masked_fill", "aten::masked_fill_",
    "aten::lerp", "aten::addcmul", "aten::addcdiv", "aten::copy_", "aten::relu", "aten::relu_", "aten::relu6",
    "aten::gelu", "aten::gelu_", "aten::silu", "aten::silu_", "aten::sigmoid", "aten::sigmoid_", "aten::tanh",
    "aten::tanh_", "aten::hardswish", "aten::hardswish_", "aten::hardsigmoid", "aten::hardsigmoid_",
    "aten::hardtanh", "aten::hardtanh_", "aten::leaky_relu", "aten::leaky_relu_", "aten::elu", "aten::elu_",
    "aten::selu", "aten::celu", "aten::softplus", "aten::mish", "aten::neg", "aten::abs", "aten::exp",
    "aten::expm1", "aten::log", "aten::log1p", "aten::log2", "aten::sqrt", "aten::rsqrt", "aten::sin",
    "aten::cos", "aten::erf", "aten::erfc", "aten::reciprocal", "aten::square", "aten::sign", "aten::floor",
    "aten::ceil", "aten::round", "aten::trunc", "aten::clamp", "aten::clamp_", "aten::clamp_min",
    "aten::clamp_min_", "aten::clamp_max", "aten::clamp_max_", "aten::nan_to_num", "aten::contiguous",
    "aten::clone", "aten::detach", "aten::alias", "aten::softmax", "aten::log_softmax", "aten::_softmax",
    "aten::zero_", "aten::fill_", "prim::unchecked_cast", "aten::dropout", "aten::feature_dropout",
    "aten::isnan", "aten::isinf", "aten::isfinite", "aten::__not__"};
// Ops of one tensor whose other arguments (a dtype, a device, another tensor's type) do not
// touch its entries.
const std::set<std::string> kUnaryOnFirst = {"aten::to", "aten::type_as", "aten::_to_copy", "aten::cpu",
                                             "aten::cuda", "aten::float", "aten::double", "aten::half",
                                             "aten::bfloat16", "aten::int", "aten::long", "aten::bool"};
// Ops that read tensors but produce no tensor whose entries depend on their order.
const std::set<std::string> kNoConstraint = {
    "aten::size", "aten::dim", "aten::numel", "aten::len", "prim::shape", "prim::device", "prim::dtype",
    "prim::layout", "aten::is_floating_point", "aten::__is__", "aten::__isnot__", "aten::Int", "aten::Float",
    "aten::Bool", "aten::ScalarImplicit", "aten::item", "prim::RaiseException", "aten::warn", "prim::NumToTensor",
    "aten::format", "prim::Uninitialized", "aten::_assert", "prim::max", "prim::min", "aten::__getitem__.t"};
// Constant fills: invariant under any permutation, so they constrain nothing.
const std::set<std::string> kUniform = {"aten::zeros", "aten::ones", "aten::full", "aten::empty",
                                        "aten::zeros_like", "aten::ones_like", "aten::full_like",
                                        "aten::empty_like", "aten::new_zeros", "aten::new_ones",
                                        "aten::new_full", "aten::new_empty", "aten::scalar_tensor"};
// Reductions whose value does not depend on the order of the reduced entries.
const std::set<std::string> kReductions = {"aten::sum", "aten::mean", "aten::amax", "aten::amin", "aten::prod",
                                           "aten::var", "aten::std", "aten::norm", "aten::logsumexp", "aten::all",
                                           "aten::any", "aten::nansum", "aten::nanmean", "aten::count_nonzero",
                                           "aten::var_mean", "aten::std_mean", "aten::linalg_vector_norm",
                                           "aten::frobenius_norm"};
// Ops whose result follows the order along `dim` (positions, running sums): that axis is pinned.
const std::set<std::string> kOrderAlongDim = {"aten::cumsum", "aten::cumprod", "aten::logcumsumexp",
                                              "aten::cummax", "aten::cummin", "aten::sort", "aten::argsort",
                                              "aten::topk", "aten::argmax", "aten::argmin", "aten::kthvalue",
                                              "aten::median", "aten::mode", "aten::diff"};

bool starts_with(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

void reduction(jit::Node* n, Context& c, const std::string& why, bool pin_reduced) {
  const jit::Value* in = n->input(0);
  const std::int64_t r = c.rank(in);
  const c10::IValue dim = arg(n, c, "dim");
  const c10::IValue keep = arg(n, c, "keepdim");
  std::set<std::int64_t> dims;
  for (std::int64_t d : int_list(dim)) dims.insert(norm_dim(d, r));
  const bool all = dims.empty();  // no dim (or []): everything is reduced
  if (all) {
    if (pin_reduced) c.freeze(in, why);
    return;
  }
  if (pin_reduced)
    for (std::int64_t d : dims) c.d.freeze(c.axes(in)[d], why);
  for (const jit::Value* out : n->outputs())
    if (c.is_tensor(out)) keep_others(in, out, dims, keep.isBool() && keep.toBool(), c, why);
}

void along_dim(jit::Node* n, Context& c, const std::string& why) {
  const jit::Value* in = n->input(0);
  const std::int64_t r = c.rank(in);
  const c10::IValue dim = n->inputs().size() > 1 ? arg(n, c, "dim") : c10::IValue();
  if (!dim.isInt()) return c.freeze_node(n, why);
  const std::int64_t d = norm_dim(dim.toInt(), r);
  c.d.freeze(c.axes(in)[d], why);
  for (const jit::Value* out : n->outputs()) {
    if (!c.is_tensor(out)) continue;
    if (c.rank(out) == r) {
      c.d.freeze(c.axes(out)[d], why);
      keep_others(in, out, {d}, true, c, why);
    } else {
      keep_others(in, out, {d}, false, c, why);
    }
  }
}

// cat / stack: the joined axis is the items' axes one after another (cat) or a new axis
// that indexes the items (stack: pinned).
void join(jit::Node* n, Context& c, const std::string& why, bool stack) {
  const std::vector<std::vector<int>> items = c.items(n->input(0));
  const jit::Value* out = n->output(0);
  std::vector<int> O = c.axes(out);
  const c10::IValue dv = arg(n, c, "dim");
  const std::int64_t d = norm_dim(dv.isInt() ? dv.toInt() : 0, O.size());
  std::vector<int> parts;
  for (const auto& item : items) {
    if (item.size() + (stack ? 1 : 0) != O.size()) {
      if (!item.empty()) return c.freeze_node(n, why);
      continue;  // a legacy empty 1-D tensor in a cat
    }
    for (std::size_t k = 0, j = 0; j < O.size(); ++j) {
      if (static_cast<std::int64_t>(j) == d) {
        if (!stack) parts.push_back(item[k++]);
        continue;
      }
      c.unite(item[k++], O[j], why);
    }
  }
  if (stack) c.d.freeze(O[d], why);
  else c.unite(O[d], c.d.sum(parts), why);
}

// split / chunk / unbind: the inverse of join.
void split(jit::Node* n, Context& c, const std::string& why, bool unbind) {
  const jit::Value* in = n->input(0);
  std::vector<int> I = c.axes(in);
  const c10::IValue dv = arg(n, c, "dim");
  const std::int64_t d = norm_dim(dv.isInt() ? dv.toInt() : 0, I.size());
  const std::vector<std::vector<int>> items = c.items(n->output(0));
  std::vector<int> parts;
  for (const auto& item : items) {
    if (item.size() + (unbind ? 1 : 0) != I.size()) return c.freeze_node(n, why);
    for (std::size_t k = 0, j = 0; j < I.size(); ++j) {
      if (static_cast<std::int64_t>(j) == d) {
        if (!unbind) parts.push_back(item[k++]);
        continue;
      }
      c.unite(item[k++], I[j], why);
    }
  }
  if (unbind) c.d.freeze(I[d], why);
  else c.unite(I[d], c.d.sum(parts), why);
}

void slice(jit::Node* n, Context& c, const std::string& why, const std::string& kind) {
  const jit::Value *in = n->input(0), *out = n->output(0);
  std::vector<int> I = c.axes(in), O = c.axes(out);
  if (I.size() != O.size()) return c.freeze_node(n, why);
  const std::int64_t r = I.size();
  const c10::IValue dv = arg(n, c, "dim");
  const std::int64_t d = norm_dim(dv.isInt() ? dv.toInt() : 0, r);
  const std::int64_t size = c.sizes(in)[d], len = c.sizes(out)[d];
  std::int64_t start = 0, step = 1;
  const c10::IValue sv = arg(n, c, "start"), stv = arg(n, c, "step");
  if (sv.isInt()) start = sv.toInt();
  if (stv.isInt()) step = stv.toInt();
  if (start < 0) start += size;
  start = std::max<std::int64_t>(0, std::min(start, size));
  (void)kind;
  keep_others(in, out, {d}, true, c, why);
  if (step != 1) {
    c.d.freeze(I[d], why);
    c.d.freeze(O[d], why);
  } else if (start == 0 && len == size) {
    c.unite(I[d], O[d], why);
  } else {
    // The slice is a segment of the axis: the axis becomes (before, slice, after).
    c.unite(I[d], c.d.sum({c.d.make(start), O[d], c.d.make(size - start - len)}), why);
  }
}

// Pooling, upsampling, padding: the leading (batch, channel) axes carry through, the last
// `spatial` axes are pinned.
void spatial_op(jit::Node* n, Context& c, const std::string& why, std::int64_t spatial) {
  const jit::Value* in = n->input(0);
  const std::int64_t r = c.rank(in);
  for (std::int64_t s = std::max<std::int64_t>(0, r - spatial); s < r; ++s) c.d.freeze(c.axes(in)[s], why);
  for (const jit::Value* out : n->outputs()) {
    if (!c.is_tensor(out)) continue;
    if (c.rank(out) != r) {
      c.freeze(out, why);
      continue;
    }
    for (std::int64_t s = 0; s < r; ++s) {
      if (s < r - spatial) c.unite(c.axes(in)[s], c.axes(out)[s], why);
      else c.d.freeze(c.axes(out)[s], why);
    }
  }
}

std::int64_t spatial_dims_of(const std::string& kind) {
  for (char ch : {'1', '2', '3'})
    if (kind.find(std::string(1, ch) + "d") != std::string::npos) return ch - '0';
  return 2;
}

void structure(jit::Node* n, Context& c, const std::string& kind, const std::string& why) {
  if (kind == "prim::ListConstruct" || kind == "prim::TupleConstruct") {
    std::vector<std::vector<int>>& items = c.items(n->output(0));
    for (std::size_t i = 0; i < n->inputs().size() && i < items.size(); ++i)
      if (c.is_tensor(n->input(i))) {
        const std::vector<int>& a = c.axes(n->input(i));
        if (a.size() != items[i].size()) return c.freeze_node(n, why);
        for (std::size_t k = 0; k < a.size(); ++k) c.unite(a[k], items[i][k], why);
      }
    return;
  }
  // ListUnpack, TupleUnpack, TupleIndex, __getitem__: an item out of a list or tuple.
  std::vector<std::vector<int>>& items = c.items(n->input(0));
  std::vector<std::pair<std::size_t, const jit::Value*>> picks;
  if (kind == "prim::ListUnpack" || kind == "prim::TupleUnpack") {
    for (std::size_t i = 0; i < n->outputs().size(); ++i) picks.push_back({i, n->output(i)});
  } else {
    const c10::IValue idx = c.value(n->input(1));
    if (!idx.isInt()) return c.freeze_node(n, why);
    std::int64_t i = idx.toInt();
    if (i < 0) i += static_cast<std::int64_t>(items.size());
    picks.push_back({static_cast<std::size_t>(i), n->output(0)});
  }
  for (const auto& [i, v] : picks) {
    if (!c.is_tensor(v)) continue;
    if (i >= items.size() || items[i].size() != c.axes(v).size()) return c.freeze_node(n, why);
    for (std::size_t k = 0; k < items[i].size(); ++k) c.unite(items[i][k], c.axes(v)[k], why);
  }
}

bool shape_rule(jit::Node* n, Context& c, const std::string& kind, const std::string& why) {
  const jit::Value* in = n->inputs().empty() ? nullptr : n->input(0);
  const jit::Value* out = n->outputs().empty() ? nullptr : n->output(0);
  static const std::set<std::string> views = {
      "aten::view", "aten::reshape", "aten::_unsafe_view", "aten::flatten", "aten::unflatten", "aten::squeeze",
      "aten::squeeze_", "aten::unsqueeze", "aten::unsqueeze_", "aten::view_as", "aten::reshape_as", "aten::ravel"};
  if (views.count(kind)) {
    reshape(in, out, c, why);
    return true;
  }
  const std::int64_t r = in && c.is_tensor(in) ? c.rank(in) : 0;
  if (kind == "aten::transpose" || kind == "aten::transpose_" || kind == "aten::swapaxes" || kind == "aten::swapdims") {
    std::vector<std::int64_t> p(r);
    for (std::int64_t i = 0; i < r; ++i) p[i] = i;
    const std::int64_t a = norm_dim(c.value(n->input(1)).toInt(), r), b = norm_dim(c.value(n->input(2)).toInt(), r);
    std::swap(p[a], p[b]);
    reorder(in, out, p, c, why);
    return true;
  }
  if (kind == "aten::permute") {
    reorder(in, out, int_list(c.value(n->input(1))), c, why);
    return true;
  }
  if (kind == "aten::t" || kind == "aten::numpy_T") {
    std::vector<std::int64_t> p(r);
    for (std::int64_t i = 0; i < r; ++i) p[i] = r - 1 - i;
    reorder(in, out, p, c, why);
    return true;
  }
  if (kind == "aten::movedim") {
    const std::vector<std::int64_t> src = int_list(c.value(n->input(1))), dst = int_list(c.value(n->input(2)));
    if (src.size() != dst.size()) return false;
    std::vector<std::int64_t> p(r, -1);
    std::vector<bool> used(r, false);
    for (std::size_t i = 0; i < src.size(); ++i) {
      p[norm_dim(dst[i], r)] = norm_dim(src[i], r);
      used[norm_dim(src[i], r)] = true;
    }
    for (std::int64_t i = 0, next = 0; i < r; ++i) {
      if (p[i] >= 0) continue;
      while (used[next]) ++next;
      p[i] = next++;
    }
    reorder(in, out, p, c, why);
    return true;
  }
  if (kind == "aten::expand" || kind == "aten::expand_as" || kind == "aten::broadcast_to") {
    const std::int64_t ro = c.rank(out);
    const auto is = c.sizes(in);
    for (std::int64_t k = 0; k < r; ++k)
      if (is[k] != 1) c.unite(c.axes(in)[k], c.axes(out)[ro - r + k], why);
    return true;
  }
  if (kind == "aten::repeat") {
    const std::vector<std::int64_t> reps = int_list(c.value(n->input(1)));
    const std::int64_t ro = c.rank(out);
    for (std::int64_t k = 0; k < r; ++k) {
      const std::int64_t j = ro - r + k;
      c.unite(c.axes(out)[j], c.d.product({c.d.make(reps[j]), c.axes(in)[k]}), why);
    }
    return true;
  }
  if (kind == "aten::cat" || kind == "aten::concat" || kind == "aten::concatenate") {
    join(n, c, why, false);
    return true;
  }
  if (kind == "aten::stack") {
    join(n, c, why, true);
    return true;
  }
  if (kind == "aten::split" || kind == "aten::split_with_sizes" || kind == "aten::chunk" ||
      kind == "aten::unsafe_chunk" || kind == "aten::unsafe_split" || kind == "aten::tensor_split") {
    split(n, c, why, false);
    return true;
  }
  if (kind == "aten::unbind") {
    split(n, c, why, true);
    return true;
  }
  if (kind == "aten::slice" || kind == "aten::narrow") {
    slice(n, c, why, kind);
    return true;
  }
  if (kind == "aten::select" || kind == "aten::index_select") {
    const std::int64_t d = norm_dim(c.value(n->input(1)).toInt(), r);
    c.d.freeze(c.axes(in)[d], why);
    if (kind == "aten::select") {
      keep_others(in, out, {d}, false, c, why);
    } else {
      keep_others(in, out, {d}, true, c, why);
      c.d.freeze(c.axes(out)[d], why);
      c.freeze(n->input(2), why);
    }
    return true;
  }
  if (kind == "aten::embedding") {
    // embedding(weight, indices): rows picked by token id; the vocabulary is pinned.
    const std::vector<int> W = c.axes(n->input(0)), I = c.axes(n->input(1)), O = c.axes(out);
    if (W.size() != 2 || O.size() != I.size() + 1) return false;
    c.d.freeze(W[0], why + ": an embedding's vocabulary");
    c.unite(W[1], O.back(), why);
    for (std::size_t k = 0; k < I.size(); ++k) c.unite(I[k], O[k], why);
    return true;
  }
  if (kind == "aten::flip" || kind == "aten::roll" || kind == "aten::tril" || kind == "aten::triu" ||
      kind == "aten::tril_" || kind == "aten::triu_") {
    std::set<std::int64_t> dims;
    if (kind == "aten::tril" || kind == "aten::triu" || kind == "aten::tril_" || kind == "aten::triu_") {
      dims = {r - 2, r - 1};
    } else {
      for (std::int64_t d : int_list(arg(n, c, "dims"))) dims.insert(norm_dim(d, r));
      if (dims.empty()) return false;  // a roll of the flattened tensor
    }
    for (std::int64_t d : dims) {
      c.d.freeze(c.axes(in)[d], why);
      c.d.freeze(c.axes(out)[d], why);
    }
    keep_others(in, out, dims, true, c, why);
    return true;
  }
  if (kind == "aten::constant_pad_nd" || kind == "aten::pad" || starts_with(kind, "aten::reflection_pad") ||
      starts_with(kind, "aten::replication_pad")) {
    const std::int64_t padded = static_cast<std::int64_t>(int_list(c.value(n->input(1))).size()) / 2;
    spatial_op(n, c, why, padded);
    return true;
  }
  if (kind.find("pool") != std::string::npos || starts_with(kind, "aten::upsample") ||
      kind == "aten::pixel_shuffle" || kind == "aten::pixel_unshuffle") {
    if (kind.find("pixel") != std::string::npos) return false;  // channels mix with space
    spatial_op(n, c, why, spatial_dims_of(kind));
    return true;
  }
  return false;
}

}  // namespace

void apply_rule(jit::Node* n, Context& c) {
  const std::string kind = n->kind().toQualString();
  const std::string why = describe_node(n);
  bool touches = false;
  for (const jit::Value* v : n->inputs()) touches = touches || c.is_tensor(v) || c.is_tensor_list(v);
  for (const jit::Value* v : n->outputs()) touches = touches || c.is_tensor(v) || c.is_tensor_list(v);
  if (!touches || kNoConstraint.count(kind)) return;
  if (!n->blocks().empty()) {
    // Control flow left after specialisation (loops): whatever crosses it is pinned.
    for (jit::Block* b : n->blocks())
      for (jit::Node* inner : b->nodes())
        for (const jit::Value* v : inner->inputs())
          if (v->node()->owningBlock() != b) c.freeze(v, why + ": control flow");
    c.freeze_node(n, why + ": control flow");
    return;
  }
  if (kind == "prim::Constant") return c.freeze(n->output(0), why + ": a constant tensor");
  // Positions (0, 1, 2, ...): their order is their meaning, as a sequence's is.
  if (kind == "aten::arange") return c.freeze(n->output(0), "the positions of a sequence (" + why + ")");
  if (kUniform.count(kind)) return;
  if (kind == "prim::ListConstruct" || kind == "prim::TupleConstruct" || kind == "prim::ListUnpack" ||
      kind == "prim::TupleUnpack" || kind == "prim::TupleIndex" || kind == "aten::__getitem__")
    return structure(n, c, kind, why);
  if (kUnaryOnFirst.count(kind)) return c.unite_all(n->input(0), n->output(0), why);
  if (kind == "aten::max" || kind == "aten::min") {
    if (n->inputs().size() > 1 && c.is_tensor(n->input(1))) return broadcast(n, c, why);
    const bool indices_used = n->outputs().size() > 1 && n->output(1)->hasUses();
    return reduction(n, c, why, indices_used);
  }
  if (kElementwise.count(kind)) return broadcast(n, c, why);
  if (kReductions.count(kind)) return reduction(n, c, why, false);
  if (kOrderAlongDim.count(kind)) return along_dim(n, c, why);
  if (apply_math_rule(n, c, kind, why) || shape_rule(n, c, kind, why)) return;
  c.freeze_node(n, why + " is not understood");
}

}  // namespace rebasin::nn::graph
