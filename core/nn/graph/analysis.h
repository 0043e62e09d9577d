// Propagation of permutation constraints through a program's graph: every tensor value gets a
// node per axis (dims.h), and each op's rule (rules.cpp) unites, refines or freezes them. The
// sizes and the integer arguments come from one probe run, so views, splits and reductions
// are read with the shapes they really have.
#pragma once

#include <torch/csrc/jit/ir/ir.h>

#include <string>
#include <unordered_map>
#include <vector>

#include "nn/graph/dims.h"

namespace rebasin::nn::graph {

using Probe = std::unordered_map<const torch::jit::Value*, c10::IValue>;

class Context {
 public:
  Context(Dims& dims, const Probe& probe) : d(dims), probe_(probe) {}

  Dims& d;

  bool is_tensor(const torch::jit::Value* v) const;
  bool is_tensor_list(const torch::jit::Value* v) const;  // Tensor[] or a tuple of tensors
  // The probe's value (None when the value was not recorded).
  c10::IValue value(const torch::jit::Value* v) const;
  std::vector<std::int64_t> sizes(const torch::jit::Value* v) const;
  std::int64_t rank(const torch::jit::Value* v) const { return static_cast<std::int64_t>(sizes(v).size()); }

  // One node per axis of a tensor value (created at first use), one list per item of a list.
  std::vector<int>& axes(const torch::jit::Value* v);
  std::vector<std::vector<int>>& items(const torch::jit::Value* v);

  void unite(int a, int b, const std::string& why) { d.unite(a, b, why); }
  // Unites axis by axis (tensors of equal rank).
  void unite_all(const torch::jit::Value* a, const torch::jit::Value* b, const std::string& why);
  // Freezes every axis of a tensor value, or of every item of a list.
  void freeze(const torch::jit::Value* v, const std::string& why);
  // Freezes everything a node reads or writes.
  void freeze_node(const torch::jit::Node* n, const std::string& why);

  // The axes of every tensor value a rule looked at.
  const std::unordered_map<const torch::jit::Value*, std::vector<int>>& all_axes() const { return axes_; }

 private:
  const Probe& probe_;
  std::unordered_map<const torch::jit::Value*, std::vector<int>> axes_;
  std::unordered_map<const torch::jit::Value*, std::vector<std::vector<int>>> items_;
};

// "aten::foo (file.py:12)": how a reason names the op.
std::string describe_node(const torch::jit::Node* n);

// Applies the node's rule; an op without one freezes what it touches, naming itself.
void apply_rule(torch::jit::Node* n, Context& c);

}  // namespace rebasin::nn::graph
