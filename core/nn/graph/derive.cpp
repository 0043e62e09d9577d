#include "nn/graph/derive.h"

#include <ATen/core/ivalue.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include "nn/graph/analysis.h"
#include "nn/graph/dims.h"

namespace rebasin::nn::graph {

namespace jit = torch::jit;

namespace {

// One place where a class's units sit: tensor `param` (index into reads()), axis `axis`.
struct Place {
  int param = -1;
  int axis = -1;
  Dims::Placement at;
};

// A candidate group: one free class (plain), or a head class with the dim classes that
// always sit inside it (heads: one head-structured group per dim class, linked).
struct Candidate {
  int leaf = -1;
  std::vector<int> dims;  // empty: plain
};

bool boundary_reason(const std::string& r) {
  return r.rfind("the model input", 0) == 0 || r.rfind("the model output", 0) == 0 ||
         r.rfind("the positions of a sequence", 0) == 0;
}

std::string layer_name(const std::string& param) {
  const auto dot = param.find_last_of('.');
  return dot == std::string::npos ? param : param.substr(0, dot);
}

class Deriver {
 public:
  explicit Deriver(const Program& p) : program_(p), graph_(*p.graph(false)) {}

  Derivation run();

 private:
  void analyse();
  void collect_places();
  void find_heads();
  PermutationSpec build(const std::vector<Candidate>& cands) const;
  std::string name_for(int leaf, std::set<std::string>& used) const;
  void choose_sites(Derivation& d);
  // The head placement on the same axis that a dim placement sits inside, or nullptr.
  const Place* enclosing(int head, const Place& dim) const;

  const Program& program_;
  jit::Graph& graph_;
  mutable Dims dims_;  // find() compresses paths
  Probe probe_;
  std::unique_ptr<Context> ctx_;
  std::map<int, std::vector<Place>> places_;  // free leaf -> where it sits, in tensor order
  std::vector<int> order_;                    // free leaves in order of first appearance
  std::map<int, std::vector<int>> heads_;     // head leaf -> its dim leaves
  std::set<int> in_heads_;                    // every leaf of a head structure
  std::vector<DroppedGroup> dropped_;
  std::vector<std::pair<int, int>> site_leaves_;  // per group: (unit leaf, head leaf or -1)
};

void Deriver::analyse() {
  probe_ = program_.probe(program_.input().sample(5, 1));
  ctx_ = std::make_unique<Context>(dims_, probe_);
  for (int n : ctx_->axes(graph_.inputs()[0])) dims_.freeze(n, "the model input");
  for (int n : ctx_->axes(graph_.outputs()[0])) dims_.freeze(n, "the model output");
  for (jit::Node* n : graph_.nodes()) apply_rule(n, *ctx_);
  // A buffer the model never updates is a constant its own code may recompute (RoPE's inv_freq
  // is never loaded from a state dict): it stays as it is, and so does every class it reaches -
  // after the rules, so that classes the input or output froze keep that reason.
  const auto& reads = program_.reads();
  for (std::size_t i = 0; i < reads.size(); ++i) {
    const jit::Value* v = graph_.inputs()[i + 1];
    if (!program_.is_constant_buffer(reads[i]) || !v->hasUses() || !ctx_->is_tensor(v)) continue;
    for (int n : ctx_->axes(v))
      dims_.freeze(n, "the buffer " + reads[i] + ", a constant of the model (it never updates it; its code may recompute it)");
  }
}

void Deriver::collect_places() {
  const auto& reads = program_.reads();
  // Placing can freeze leaves (nested too deeply): place everything once, then collect.
  for (int pass = 0; pass < 2; ++pass) {
    places_.clear();
    order_.clear();
    for (std::size_t i = 0; i < reads.size(); ++i) {
      const jit::Value* v = graph_.inputs()[i + 1];
      if (!v->hasUses() || !ctx_->is_tensor(v)) continue;
      const std::vector<int>& axes = ctx_->axes(v);
      for (std::size_t k = 0; k < axes.size(); ++k)
        for (const Dims::Placement& at : dims_.place(axes[k])) {
          const int leaf = dims_.find(at.leaf);
          if (!places_.count(leaf)) order_.push_back(leaf);
          places_[leaf].push_back({static_cast<int>(i), static_cast<int>(k), at});
        }
    }
  }
  // Classes pinned by an op although they join two or more tensors: reported as dropped.
  std::map<int, std::pair<std::vector<std::string>, int>> pinned;  // leaf -> (tensors, places)
  std::vector<int> pinned_order;
  for (std::size_t i = 0; i < reads.size(); ++i) {
    const jit::Value* v = graph_.inputs()[i + 1];
    if (!v->hasUses() || !ctx_->is_tensor(v)) continue;
    for (int axis : ctx_->axes(v))
      for (int leaf : dims_.leaves(axis)) {
        leaf = dims_.find(leaf);
        if (!dims_.frozen(leaf) || dims_.size(leaf) <= 1 || boundary_reason(dims_.reason(leaf))) continue;
        if (!pinned.count(leaf)) pinned_order.push_back(leaf);
        auto& [names, count] = pinned[leaf];
        if (std::find(names.begin(), names.end(), reads[i]) == names.end()) names.push_back(reads[i]);
        ++count;
      }
  }
  for (int leaf : pinned_order) {
    const auto& [names, count] = pinned[leaf];
    if (count < 2) continue;
    dropped_.push_back({layer_name(names.front()), dims_.size(leaf), names, "pinned by " + dims_.reason(leaf)});
  }
  // A free class seen in one place only would be a permutation of one tensor's axis with
  // nothing to compensate it: not a symmetry (an unused tensor, or an axis summed away).
  std::vector<int> kept;
  for (int leaf : order_)
    if (places_[leaf].size() >= 2) kept.push_back(leaf);
  order_ = kept;
}

const Place* Deriver::enclosing(int head, const Place& dim) const {
  const auto it = places_.find(head);
  if (it == places_.end()) return nullptr;
  const std::int64_t sh = dims_.size(head), sd = dims_.size(dim.at.leaf);
  for (const Place& h : it->second) {
    if (h.param != dim.param || h.axis != dim.axis || h.at.offset != dim.at.offset) continue;
    if (h.at.inner != sd * dim.at.inner || dim.at.stride != sd * dim.at.inner) continue;
    if (dim.at.outer != sh * h.at.outer) continue;
    if (h.at.outer > 1 && h.at.stride != sh * sd * dim.at.inner) continue;
    return &h;
  }
  return nullptr;
}

void Deriver::find_heads() {
  // Which leaves share a value with which: a dim class can only be permuted per head if every
  // value that carries it also carries its head class.
  std::map<int, std::set<int>> together;  // leaf -> leaves present in every value it is in
  for (const auto& [value, axes] : ctx_->all_axes()) {
    std::set<int> here;
    for (int a : axes)
      for (int l : dims_.leaves(a)) here.insert(dims_.find(l));
    for (int l : here) {
      auto it = together.find(l);
      if (it == together.end()) {
        together[l] = here;
      } else {
        std::set<int> both;
        std::set_intersection(it->second.begin(), it->second.end(), here.begin(), here.end(),
                              std::inserter(both, both.begin()));
        it->second = std::move(both);
      }
    }
  }
  for (int d : order_) {
    for (int h : order_) {
      if (h == d || in_heads_.count(d)) continue;
      bool all = !places_[d].empty();
      for (const Place& p : places_[d]) all = all && enclosing(h, p) != nullptr;
      if (!all || !together[d].count(h)) continue;
      heads_[h].push_back(d);
      in_heads_.insert(d);
    }
  }
  // A head class must not sit anywhere without one of its dims inside it.
  for (auto it = heads_.begin(); it != heads_.end();) {
    std::size_t covered = 0;
    for (const Place& hp : places_[it->first]) {
      bool found = false;
      for (int d : it->second)
        for (const Place& dp : places_[d]) found = found || enclosing(it->first, dp) == &hp;
      covered += found;
    }
    if (covered != places_[it->first].size()) {
      for (int d : it->second) in_heads_.erase(d);
      it = heads_.erase(it);
    } else {
      in_heads_.insert(it->first);
      ++it;
    }
  }
}

std::string Deriver::name_for(int leaf, std::set<std::string>& used) const {
  // Named after the layer that produces the units: the first tensor holding them on axis 0
  // (a weight's output axis), else the first tensor at all.
  const std::vector<Place>& ps = places_.at(leaf);
  const Place* pick = &ps.front();
  for (const Place& p : ps)
    if (p.axis == 0) {
      pick = &p;
      break;
    }
  const std::string base = layer_name(program_.reads()[pick->param]);
  std::string name = base;
  for (int k = 2; used.count(name); ++k) name = base + "#" + std::to_string(k);
  used.insert(name);
  return name;
}

PermutationSpec Deriver::build(const std::vector<Candidate>& cands) const {
  PermutationSpec spec;
  std::set<std::string> used;
  // leaf -> (group, head leaf or -1) for every dim/plain leaf that gets ties.
  std::map<int, std::pair<int, int>> group_of;
  for (const Candidate& c : cands) {
    if (c.dims.empty()) {
      group_of[c.leaf] = {spec.add_group(name_for(c.leaf, used), dims_.size(c.leaf)), -1};
      continue;
    }
    int first = -1;
    const std::int64_t h = dims_.size(c.leaf);
    for (int d : c.dims) {
      const int g = spec.add_group(name_for(d, used), h * dims_.size(d), h, first);
      if (first < 0) first = g;
      group_of[d] = {g, c.leaf};
    }
  }
  const auto& reads = program_.reads();
  const NamedTensors& state = program_.state();
  std::vector<std::vector<AxisTies>> ties(reads.size());
  for (std::size_t i = 0; i < reads.size(); ++i) ties[i].resize(state[i].tensor.dim());
  for (const auto& [leaf, gh] : group_of) {
    const auto& [group, head] = gh;
    for (const Place& p : places_.at(leaf)) {
      AxisTie t;
      t.group = group;
      t.offset = p.at.offset;
      if (head < 0) {
        t.inner = p.at.inner;
        t.outer = p.at.outer;
        t.stride = p.at.stride;
      } else {
        const Place* hp = enclosing(head, p);
        t.inner = p.at.inner;
        t.outer = hp->at.outer;
        t.stride = hp->at.stride;
      }
      ties[p.param][p.axis].push_back(t);
    }
  }
  for (std::size_t i = 0; i < reads.size(); ++i) {
    // Ties in axis order of their pieces (permute applies them one after another).
    for (AxisTies& a : ties[i])
      std::sort(a.begin(), a.end(), [](const AxisTie& x, const AxisTie& y) { return x.offset < y.offset; });
    spec.add_ties(reads[i], state[i].tensor.sizes().vec(), ties[i], program_.is_buffer(reads[i]));
  }
  spec.validate();
  return spec;
}

void Deriver::choose_sites(Derivation& d) {
  // Per group: a value holding its units on one axis (plain) or on a head and a dim axis,
  // batch first; the output of an activation function is preferred (what activation matching
  // correlates in the built-ins), then any op's output.
  static const std::set<std::string> kActivations = {
      "aten::relu", "aten::relu_", "aten::gelu", "aten::silu", "aten::tanh", "aten::sigmoid",
      "aten::leaky_relu", "aten::elu", "aten::hardtanh", "aten::mish", "aten::softplus", "aten::relu6"};
  const jit::Value* input = graph_.inputs()[0];
  const int batch = dims_.find(ctx_->axes(input)[0]);
  d.sites.assign(d.spec.groups().size(), {});
  std::vector<int> rank(d.sites.size(), 3);
  for (jit::Node* n : graph_.nodes()) {
    const bool act = kActivations.count(n->kind().toQualString()) > 0;
    for (const jit::Value* v : n->outputs()) {
      if (!ctx_->is_tensor(v) || !ctx_->all_axes().count(v)) continue;
      const std::vector<int>& axes = ctx_->all_axes().at(v);
      std::int64_t batch_axis = -1;
      for (std::size_t k = 0; k < axes.size(); ++k)
        if (dims_.find(axes[k]) == batch) batch_axis = static_cast<std::int64_t>(k);
      if (batch_axis < 0) continue;
      for (std::size_t g = 0; g < d.sites.size(); ++g) {
        const int want = act ? 0 : 1;
        if (rank[g] <= want) continue;
        const auto& [leaf, head] = site_leaves_[g];
        std::vector<std::int64_t> unit_axes;
        for (std::size_t k = 0; k < axes.size(); ++k) {
          const int r = dims_.find(axes[k]);
          if (head < 0 && r == leaf) unit_axes = {static_cast<std::int64_t>(k)};
        }
        if (head >= 0) {
          std::int64_t ha = -1, da = -1;
          for (std::size_t k = 0; k < axes.size(); ++k) {
            const int r = dims_.find(axes[k]);
            if (r == head) ha = static_cast<std::int64_t>(k);
            if (r == leaf) da = static_cast<std::int64_t>(k);
          }
          if (ha >= 0 && da >= 0) unit_axes = {ha, da};
          // Or one axis laid out as heads x dims (a projection's output before the view).
          for (std::size_t k = 0; k < axes.size() && unit_axes.empty(); ++k) {
            if (dims_.kind(axes[k]) != Dims::Kind::Product) continue;
            std::vector<int> ls = dims_.leaves(axes[k]);
            for (int& l : ls) l = dims_.find(l);
            if (ls == std::vector<int>{head, leaf}) unit_axes = {static_cast<std::int64_t>(k)};
          }
        }
        if (unit_axes.empty()) continue;
        d.sites[g] = {v, batch_axis, unit_axes};
        rank[g] = want;
      }
    }
  }
}

Derivation Deriver::run() {
  const auto start = std::chrono::steady_clock::now();
  analyse();
  collect_places();
  find_heads();
  std::vector<Candidate> cands;
  for (int leaf : order_) {
    if (heads_.count(leaf)) cands.push_back({leaf, heads_[leaf]});
    else if (!in_heads_.count(leaf)) cands.push_back({leaf, {}});
  }
  Derivation d;
  // Verify; a failing head structure is retried as separate head and dim groups, a failing
  // plain group is dropped. The last round only drops (nothing new to verify).
  constexpr int kRounds = 4;
  for (int round = 0; round < kRounds; ++round) {
    d.spec = build(cands);
    const std::vector<std::size_t> bad = failing_sets(program_, d.spec, 7 + round);
    if (bad.empty()) break;
    // Sets are in group order and candidates too: set k is candidate k.
    const std::set<std::size_t> bad_set(bad.begin(), bad.end());
    const auto sets = d.spec.linked_sets();
    std::vector<Candidate> next;
    for (std::size_t k = 0; k < cands.size(); ++k) {
      if (!bad_set.count(k)) {
        next.push_back(cands[k]);
        continue;
      }
      if (!cands[k].dims.empty() && round + 1 < kRounds) {
        next.push_back({cands[k].leaf, {}});
        for (int dl : cands[k].dims) next.push_back({dl, {}});
        continue;
      }
      const Group& g = d.spec.groups()[sets[k].front()];
      std::vector<std::string> touched;
      for (int gi : sets[k])
        for (const ParamSpec& ps : d.spec.params())
          for (const AxisTies& a : ps.axes)
            for (const AxisTie& t : a)
              if (t.group == gi && std::find(touched.begin(), touched.end(), ps.name) == touched.end())
                touched.push_back(ps.name);
      dropped_.push_back({g.name, g.size, touched, "a random permutation of it changed the model's output"});
    }
    cands = next;
    if (round + 1 == kRounds) d.spec = build(cands);
  }
  d.dropped = dropped_;
  site_leaves_.clear();
  for (const Candidate& c : cands) {
    if (c.dims.empty()) site_leaves_.push_back({c.leaf, -1});
    else
      for (int dl : c.dims) site_leaves_.push_back({dl, c.leaf});
  }
  choose_sites(d);
  d.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return d;
}

}  // namespace

Derivation derive(const Program& program) { return Deriver(program).run(); }

}  // namespace rebasin::nn::graph
