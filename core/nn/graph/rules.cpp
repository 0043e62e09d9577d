// The rule of each op: which axes of its inputs and outputs must be permuted alike (united),
// how it refines them (views, splits, concatenation, grouped convolutions, heads) and which
// it pins (spatial axes, indexed axes). An op without a rule pins everything it touches, so
// nothing is ever guessed; the verification step (verify.cpp) checks what is derived here.
#include <ATen/core/ivalue.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "nn/graph/analysis.h"
#include "nn/graph/rules_internal.h"

namespace rebasin::nn::graph {

namespace jit = torch::jit;

std::int64_t norm_dim(std::int64_t d, std::int64_t rank) { return d < 0 ? d + rank : d; }

int arg_index(const jit::Node* n, const char* name) {
  const c10::FunctionSchema* s = n->maybeSchema();
  if (!s) return -1;
  const auto& args = s->arguments();
  for (std::size_t i = 0; i < args.size(); ++i)
    if (args[i].name() == name) return static_cast<int>(i);
  return -1;
}

c10::IValue arg(const jit::Node* n, Context& c, const char* name) {
  const int i = arg_index(n, name);
  return i < 0 || i >= static_cast<int>(n->inputs().size()) ? c10::IValue() : c.value(n->input(i));
}

std::vector<std::int64_t> int_list(const c10::IValue& v) {
  if (v.isIntList()) return v.toIntVector();
  if (v.isInt()) return {v.toInt()};
  return {};
}

void broadcast(jit::Node* n, Context& c, const std::string& why) {
  const jit::Value* out = n->output(0);
  if (!c.is_tensor(out)) return c.freeze_node(n, why);
  const std::vector<std::int64_t> os = c.sizes(out);
  const std::int64_t ro = static_cast<std::int64_t>(os.size());
  for (const jit::Value* in : n->inputs()) {
    if (!c.is_tensor(in)) continue;
    const std::vector<std::int64_t> is = c.sizes(in);
    const std::int64_t r = static_cast<std::int64_t>(is.size());
    if (r > ro) {
      c.freeze(in, why);
      continue;
    }
    for (std::int64_t k = 0; k < r; ++k) {
      const std::int64_t o = ro - r + k;
      if (is[k] != 1 && is[k] == os[o]) c.unite(c.axes(in)[k], c.axes(out)[o], why);
    }
  }
  for (std::size_t i = 1; i < n->outputs().size(); ++i) c.freeze(n->output(i), why);
}

void reshape(const jit::Value* in, const jit::Value* out, Context& c, const std::string& why) {
  c.unite(c.d.product(c.axes(in)), c.d.product(c.axes(out)), why);
}

// out axis i is in axis perm[i].
void reorder(const jit::Value* in, const jit::Value* out, const std::vector<std::int64_t>& perm, Context& c,
             const std::string& why) {
  std::vector<int>& a = c.axes(in);
  std::vector<int>& b = c.axes(out);
  if (perm.size() != a.size() || a.size() != b.size()) {
    c.freeze(in, why);
    c.freeze(out, why);
    return;
  }
  for (std::size_t i = 0; i < perm.size(); ++i) c.unite(b[i], a[norm_dim(perm[i], a.size())], why);
}

// out keeps every axis of in except `dims` (which it drops, or keeps as size 1).
void keep_others(const jit::Value* in, const jit::Value* out, const std::set<std::int64_t>& dims, bool keepdim,
                 Context& c, const std::string& why) {
  std::vector<int>& a = c.axes(in);
  std::vector<int>& b = c.axes(out);
  std::size_t j = 0;
  for (std::size_t k = 0; k < a.size(); ++k) {
    if (dims.count(static_cast<std::int64_t>(k))) {
      if (keepdim) ++j;
      continue;
    }
    if (j < b.size()) c.unite(a[k], b[j], why);
    ++j;
  }
}

namespace {

void matmul(const jit::Value* a, const jit::Value* b, const jit::Value* out, Context& c, const std::string& why) {
  std::vector<int> A = c.axes(a), B = c.axes(b), O = c.axes(out);
  const std::int64_t ra = A.size(), rb = B.size(), ro = O.size();
  if (ra == 0 || rb == 0) return;
  if (ra == 1 && rb == 1) return c.unite(A[0], B[0], why);
  if (ra == 1) {
    c.unite(A[0], B[rb - 2], why);
    c.unite(B[rb - 1], O[ro - 1], why);
    for (std::int64_t k = 0; k < rb - 2; ++k) c.unite(B[k], O[k], why);
    return;
  }
  if (rb == 1) {
    c.unite(A[ra - 1], B[0], why);
    for (std::int64_t k = 0; k < ra - 1; ++k) c.unite(A[k], O[k], why);
    return;
  }
  c.unite(A[ra - 1], B[rb - 2], why);
  c.unite(A[ra - 2], O[ro - 2], why);
  c.unite(B[rb - 1], O[ro - 1], why);
  const auto as = c.sizes(a), bs = c.sizes(b);
  for (std::int64_t k = 0; k < ra - 2; ++k)
    if (as[k] != 1) c.unite(A[k], O[ro - 2 - (ra - 2) + k], why);
  for (std::int64_t k = 0; k < rb - 2; ++k)
    if (bs[k] != 1) c.unite(B[k], O[ro - 2 - (rb - 2) + k], why);
}

void linear(jit::Node* n, Context& c, const std::string& why) {
  const jit::Value *x = n->input(0), *w = n->input(1), *out = n->output(0);
  std::vector<int> X = c.axes(x), W = c.axes(w), O = c.axes(out);
  if (W.size() != 2 || X.empty()) return c.freeze_node(n, why);
  c.unite(X.back(), W[1], why);
  c.unite(W[0], O.back(), why);
  if (n->inputs().size() > 2 && c.is_tensor(n->input(2))) {
    const std::vector<int> B = c.axes(n->input(2));
    if (B.size() == 1) c.unite(B[0], O.back(), why);
  }
  for (std::size_t k = 0; k + 1 < X.size(); ++k) c.unite(X[k], O[k], why);
}

void convolution(jit::Node* n, Context& c, const std::string& why) {
  const jit::Value *in = n->input(0), *w = n->input(1), *out = n->output(0);
  const c10::IValue tr = arg(n, c, "transposed");
  const bool transposed = (tr.isBool() && tr.toBool()) ||
                          std::string(n->kind().toQualString()).find("conv_transpose") != std::string::npos;
  const c10::IValue gv = arg(n, c, "groups");
  const std::int64_t G = gv.isInt() ? gv.toInt() : 1;
  std::vector<int> I = c.axes(in), W = c.axes(w), O = c.axes(out);
  const std::int64_t k = static_cast<std::int64_t>(W.size()) - 2;
  const std::int64_t r = I.size();
  if (k < 1 || (r != k + 1 && r != k + 2) || O.size() != I.size()) return c.freeze_node(n, why);
  const std::int64_t ci = r - k - 1;  // the channel axis (0 for unbatched inputs)
  const std::string spatial = why + ": a convolution's spatial axes";
  for (std::int64_t s = ci + 1; s < r; ++s) {
    c.d.freeze(I[s], spatial);
    c.d.freeze(O[s], spatial);
  }
  for (std::size_t s = 2; s < W.size(); ++s) c.d.freeze(W[s], spatial);
  if (ci == 1) c.unite(I[0], O[0], why);
  const std::int64_t cin = c.sizes(in)[ci], cout = c.sizes(out)[ci];
  int in_ch = I[ci], out_ch = O[ci];
  if (G > 1) {
    // Channels come in G groups: a permutation may reorder the groups (alike on both sides)
    // and the channels inside them (alike in every group).
    const int g = c.d.make(G);
    const int per_in = c.d.make(cin / G), per_out = c.d.make(cout / G);
    in_ch = c.d.product({g, per_in});
    out_ch = c.d.product({g, per_out});
    c.unite(I[ci], in_ch, why);
    c.unite(O[ci], out_ch, why);
    if (transposed) {
      c.unite(W[0], in_ch, why);
      c.unite(W[1], per_out, why);
    } else {
      c.unite(W[0], out_ch, why);
      c.unite(W[1], per_in, why);
    }
  } else if (transposed) {
    c.unite(W[0], in_ch, why);
    c.unite(W[1], out_ch, why);
  } else {
    c.unite(W[1], in_ch, why);
    c.unite(W[0], out_ch, why);
  }
  if (n->inputs().size() > 2 && c.is_tensor(n->input(2))) c.unite(c.axes(n->input(2))[0], out_ch, why);
}

void norm(jit::Node* n, Context& c, const std::string& why, const std::string& kind) {
  const jit::Value *in = n->input(0), *out = n->output(0);
  c.unite_all(in, out, why);
  std::vector<int> I = c.axes(in);
  if (I.empty()) return;
  if (kind == "aten::layer_norm") {
    const std::size_t ns = int_list(c.value(n->input(1))).size();
    for (int idx : {2, 3}) {
      if (!c.is_tensor(n->input(idx))) continue;
      const std::vector<int> P = c.axes(n->input(idx));
      for (std::size_t k = 0; k < P.size() && k < ns && ns <= I.size(); ++k) c.unite(P[k], I[I.size() - ns + k], why);
    }
    return;
  }
  const int channel = I.size() >= 2 ? I[1] : I[0];
  int ch = channel;
  if (kind == "aten::group_norm") {
    const std::int64_t G = c.value(n->input(1)).isInt() ? c.value(n->input(1)).toInt() : 1;
    const std::int64_t C = c.d.size(channel);
    if (G > 1 && G < C) {  // statistics per group: groups move whole
      ch = c.d.product({c.d.make(G), c.d.make(C / G)});
      c.unite(channel, ch, why);
    }
  }
  const std::vector<int> params = kind == "aten::group_norm" ? std::vector<int>{2, 3} : std::vector<int>{1, 2, 3, 4};
  for (int idx : params)
    if (idx < static_cast<int>(n->inputs().size()) && c.is_tensor(n->input(idx))) c.unite(c.axes(n->input(idx))[0], ch, why);
}

void einsum(jit::Node* n, Context& c, const std::string& why) {
  const c10::IValue eq = c.value(n->input(0));
  if (!eq.isString()) return c.freeze_node(n, why);
  std::string e = eq.toStringRef();
  e.erase(std::remove(e.begin(), e.end(), ' '), e.end());
  if (e.find("...") != std::string::npos) return c.freeze_node(n, why + " (einsum with ...)");
  const auto arrow = e.find("->");
  const std::string lhs = e.substr(0, arrow);
  std::vector<std::string> terms;
  for (std::size_t s = 0;;) {
    const auto comma = lhs.find(',', s);
    terms.push_back(lhs.substr(s, comma == std::string::npos ? std::string::npos : comma - s));
    if (comma == std::string::npos) break;
    s = comma + 1;
  }
  const std::vector<std::vector<int>> ops = c.items(n->input(1));
  if (ops.size() != terms.size()) return c.freeze_node(n, why);
  // One node per letter: every axis the letter names is permuted alike (broadcast axes of
  // size 1 excepted).
  std::map<char, int> slot, count;
  for (std::size_t t = 0; t < terms.size(); ++t) {
    if (terms[t].size() != ops[t].size()) return c.freeze_node(n, why);
    for (std::size_t i = 0; i < terms[t].size(); ++i) {
      const char ch = terms[t][i];
      const int node = ops[t][i];
      ++count[ch];
      auto it = slot.find(ch);
      if (it == slot.end()) slot[ch] = node;
      else if (c.d.size(node) != 1 && c.d.size(it->second) == 1) it->second = node;
      else if (c.d.size(node) != 1) c.unite(it->second, node, why);
    }
  }
  std::string rhs;
  if (arrow != std::string::npos) {
    rhs = e.substr(arrow + 2);
  } else {
    for (const auto& [ch, k] : count)
      if (k == 1) rhs += ch;
  }
  const std::vector<int> O = c.axes(n->output(0));
  if (rhs.size() != O.size()) return c.freeze_node(n, why);
  for (std::size_t i = 0; i < rhs.size(); ++i) {
    const auto it = slot.find(rhs[i]);
    if (it == slot.end()) return c.freeze_node(n, why);
    if (c.d.size(O[i]) != 1 && c.d.size(it->second) == c.d.size(O[i])) c.unite(O[i], it->second, why);
  }
}

// PyTorch's fused multi-head attention (nn.MultiheadAttention's fast path, taken under
// no_grad): query/key/value projections fused in one weight, heads of embed_dim / num_heads.
void native_attention(jit::Node* n, Context& c, const std::string& why) {
  const jit::Value *q = n->input(0), *k = n->input(1), *v = n->input(2);
  const c10::IValue hv = c.value(n->input(4));
  std::vector<int> Q = c.axes(q), K = c.axes(k), V = c.axes(v), O = c.axes(n->output(0));
  if (!hv.isInt() || Q.empty() || K.size() != Q.size() || V.size() != Q.size() || O.size() != Q.size())
    return c.freeze_node(n, why);
  const std::int64_t e = c.d.size(Q.back()), h = hv.toInt();
  if (h <= 0 || e % h != 0) return c.freeze_node(n, why);
  const int heads = c.d.make(h), dq = c.d.make(e / h), dv = c.d.make(e / h);
  const int qk_q = c.d.product({heads, dq}), qk_k = c.d.product({heads, dq});
  const int vo_v = c.d.product({heads, dv}), vo_o = c.d.product({heads, dv});
  const int fused = c.d.sum({qk_q, qk_k, vo_v});
  c.unite(K.back(), Q.back(), why);
  c.unite(V.back(), Q.back(), why);
  const std::vector<int> W = c.axes(n->input(5)), Wo = c.axes(n->input(7));
  if (W.size() != 2 || Wo.size() != 2) return c.freeze_node(n, why);
  c.unite(W[0], fused, why);
  c.unite(W[1], Q.back(), why);
  if (c.is_tensor(n->input(6))) c.unite(c.axes(n->input(6))[0], fused, why);
  c.unite(Wo[1], vo_o, why);
  c.unite(Wo[0], O.back(), why);
  if (c.is_tensor(n->input(8))) c.unite(c.axes(n->input(8))[0], O.back(), why);
  for (std::size_t a = 0; a + 1 < Q.size(); ++a) c.unite(Q[a], O[a], why);
  for (std::size_t a = 0; a + 1 < K.size(); ++a) c.unite(K[a], V[a], why);
  if (Q.size() == 3) c.unite(Q[0], K[0], why);
  if (n->outputs().size() > 1 && n->output(1)->hasUses()) c.freeze(n->output(1), why);
  if (n->inputs().size() > 9) c.freeze(n->input(9), why);  // the mask
}

}  // namespace

bool apply_math_rule(jit::Node* n, Context& c, const std::string& kind, const std::string& why) {
  static const std::set<std::string> mm = {"aten::matmul", "aten::mm", "aten::bmm", "aten::mv", "aten::dot"};
  if (mm.count(kind)) {
    matmul(n->input(0), n->input(1), n->output(0), c, why);
    return true;
  }
  if (kind == "aten::addmm" || kind == "aten::baddbmm" || kind == "aten::addmv") {
    matmul(n->input(1), n->input(2), n->output(0), c, why);
    const jit::Value* bias = n->input(0);
    const std::int64_t rb = c.rank(bias), ro = c.rank(n->output(0));
    const auto bs = c.sizes(bias);
    for (std::int64_t k = 0; k < rb && rb <= ro; ++k)
      if (bs[k] != 1) c.unite(c.axes(bias)[k], c.axes(n->output(0))[ro - rb + k], why);
    return true;
  }
  if (kind == "aten::outer" || kind == "aten::ger") {
    c.unite(c.axes(n->input(0))[0], c.axes(n->output(0))[0], why);
    c.unite(c.axes(n->input(1))[0], c.axes(n->output(0))[1], why);
    return true;
  }
  if (kind == "aten::linear") {
    linear(n, c, why);
    return true;
  }
  if (kind == "aten::einsum") {
    einsum(n, c, why);
    return true;
  }
  static const std::set<std::string> conv = {"aten::_convolution", "aten::convolution", "aten::conv1d",
                                             "aten::conv2d", "aten::conv3d", "aten::conv_transpose1d",
                                             "aten::conv_transpose2d", "aten::conv_transpose3d"};
  if (conv.count(kind)) {
    convolution(n, c, why);
    return true;
  }
  static const std::set<std::string> norms = {"aten::batch_norm", "aten::instance_norm", "aten::layer_norm",
                                              "aten::group_norm"};
  if (norms.count(kind)) {
    norm(n, c, why, kind);
    return true;
  }
  if (kind == "aten::_native_multi_head_attention") {
    native_attention(n, c, why);
    return true;
  }
  return false;
}

}  // namespace rebasin::nn::graph
