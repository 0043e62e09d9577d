// The bookkeeping behind the rules: axes of values, probe lookups, freezing.
#include <ATen/core/ivalue.h>

#include "nn/graph/analysis.h"

namespace rebasin::nn::graph {

namespace jit = torch::jit;

c10::IValue Context::value(const jit::Value* v) const {
  const auto it = probe_.find(v);
  return it == probe_.end() ? c10::IValue() : it->second;
}

bool Context::is_tensor(const jit::Value* v) const { return value(v).isTensor(); }

bool Context::is_tensor_list(const jit::Value* v) const {
  const c10::IValue x = value(v);
  if (x.isTensorList()) return true;
  if (x.isList()) {
    for (const auto& e : x.toListRef())
      if (e.isTensor()) return true;
    return false;
  }
  if (x.isTuple()) {
    for (const auto& e : x.toTupleRef().elements())
      if (e.isTensor()) return true;
  }
  return false;
}

std::vector<std::int64_t> Context::sizes(const jit::Value* v) const {
  const c10::IValue x = value(v);
  return x.isTensor() ? x.toTensor().sizes().vec() : std::vector<std::int64_t>{};
}

std::vector<int>& Context::axes(const jit::Value* v) {
  auto it = axes_.find(v);
  if (it != axes_.end()) return it->second;
  std::vector<int> nodes;
  for (std::int64_t s : sizes(v)) nodes.push_back(d.make(s));
  return axes_.emplace(v, std::move(nodes)).first->second;
}

std::vector<std::vector<int>>& Context::items(const jit::Value* v) {
  auto it = items_.find(v);
  if (it != items_.end()) return it->second;
  std::vector<c10::IValue> elems;
  const c10::IValue x = value(v);
  if (x.isList()) {
    for (const auto& e : x.toListRef()) elems.push_back(e);
  } else if (x.isTuple()) {
    for (const auto& e : x.toTupleRef().elements()) elems.push_back(e);
  }
  std::vector<std::vector<int>> all;
  for (const auto& e : elems) {
    std::vector<int> nodes;
    if (e.isTensor())
      for (std::int64_t s : e.toTensor().sizes()) nodes.push_back(d.make(s));
    all.push_back(std::move(nodes));
  }
  return items_.emplace(v, std::move(all)).first->second;
}

void Context::unite_all(const jit::Value* a, const jit::Value* b, const std::string& why) {
  std::vector<int>& x = axes(a);
  std::vector<int>& y = axes(b);
  if (x.size() != y.size()) {
    freeze(a, why);
    freeze(b, why);
    return;
  }
  for (std::size_t k = 0; k < x.size(); ++k) d.unite(x[k], y[k], why);
}

void Context::freeze(const jit::Value* v, const std::string& why) {
  if (is_tensor(v)) {
    for (int n : axes(v)) d.freeze(n, why);
  } else if (is_tensor_list(v)) {
    for (const auto& item : items(v))
      for (int n : item) d.freeze(n, why);
  }
}

void Context::freeze_node(const jit::Node* n, const std::string& why) {
  for (const jit::Value* v : n->inputs()) freeze(v, why);
  for (const jit::Value* v : n->outputs()) freeze(v, why);
}

std::string describe_node(const jit::Node* n) {
  std::string s = n->kind().toQualString();
  const auto where = n->sourceRange().file_line_col();
  if (where) {
    std::string file = std::get<0>(*where);
    const auto slash = file.find_last_of('/');
    if (slash != std::string::npos) file = file.substr(slash + 1);
    s += " (" + file + ":" + std::to_string(std::get<1>(*where)) + ")";
  }
  return s;
}

}  // namespace rebasin::nn::graph
