// The table of alignment methods (method_registry.h). Each run function lives in its method's
// own source file; its declaration sits beside its line here.
#include "align/method_registry.h"

#include <algorithm>

#include "common/error.h"

namespace rebasin::align {

AlignResult run_naive(const MethodCall&);               // align.cpp
AlignResult run_weight_matching(const MethodCall&);     // weight_matching.cpp
AlignResult run_activation_matching(const MethodCall&); // activation_matching.cpp
AlignResult run_straight_through(const MethodCall&);    // straight_through.cpp
AlignResult run_sinkhorn_rebasin(const MethodCall&);    // sinkhorn_rebasin.cpp
AlignResult run_random_permutation(const MethodCall&);  // random_permutation.cpp

const std::vector<MethodEntry>& methods() {
  using D = MethodEntry::Data;
  static const std::vector<MethodEntry> table = {
      {"naive", "no permutation: B as it is (the baseline every barrier is compared with)", D::Never, false, false, run_naive},
      {"weight", "weight matching (Git Re-Basin): coordinate descent of exact assignments on the weights", D::Never, false, false, run_weight_matching},
      {"activation", "activation matching (Git Re-Basin): exact assignments of the units' activations on data", D::Always, false, false, run_activation_matching},
      {"ste", "straight-through estimator (Git Re-Basin): hard permutations trained on the midpoint loss", D::Always, false, true, run_straight_through},
      {"sinkhorn", "Sinkhorn re-basin (CVPR 2023): soft plans optimised through implicit Sinkhorn differentiation", D::DataCosts, true, true, run_sinkhorn_rebasin, true},
      {"random", "a seeded random permutation of every group: the floor any alignment should beat", D::Never, false, false, run_random_permutation},
  };
  return table;
}

const MethodEntry& find_method(const std::string& name) {
  for (const MethodEntry& m : methods())
    if (m.name == name) return m;
  throw UserError("unknown method '" + name + "' (" + method_list() + ")");
}

std::vector<std::string> method_names() {
  std::vector<std::string> names;
  for (const MethodEntry& m : methods()) names.push_back(m.name);
  return names;
}

std::string method_list() {
  std::string s;
  for (const MethodEntry& m : methods()) s += (s.empty() ? "" : ", ") + m.name;
  return s;
}

std::vector<std::string> cost_names() { return {"l2", "l1", "mid", "rnd"}; }

bool cost_needs_data(const std::string& cost) { return cost == "mid" || cost == "rnd"; }

bool method_needs_data(const std::string& method, const std::string& cost) {
  const MethodEntry& m = find_method(method);
  return m.data == MethodEntry::Data::Always || (m.data == MethodEntry::Data::DataCosts && cost_needs_data(cost));
}

std::string method_label(const std::string& method, const std::string& cost) {
  return find_method(method).uses_cost ? method + "-" + cost : method;
}

}  // namespace rebasin::align
