#include "nn/graph/dims.h"

#include <numeric>
#include <utility>

namespace rebasin::nn::graph {

int Dims::add(std::int64_t size, Kind kind, std::vector<int> parts) {
  Node n;
  n.size = size;
  n.kind = kind;
  n.parts = std::move(parts);
  nodes_.push_back(std::move(n));
  return static_cast<int>(nodes_.size()) - 1;
}

int Dims::make(std::int64_t size) { return add(size, Kind::Leaf, {}); }

int Dims::product(std::vector<int> parts) {
  std::vector<int> kept;
  std::int64_t total = 1;
  for (int p : parts)
    if (size(p) != 1) {
      kept.push_back(p);
      total *= size(p);
    }
  if (kept.empty()) return make(1);
  if (kept.size() == 1) return kept.front();
  return add(total, Kind::Product, std::move(kept));
}

int Dims::sum(std::vector<int> parts) {
  std::vector<int> kept;
  std::int64_t total = 0;
  for (int p : parts)
    if (size(p) > 0) {
      kept.push_back(p);
      total += size(p);
    }
  if (kept.empty()) return make(0);
  if (kept.size() == 1) return kept.front();
  return add(total, Kind::Sum, std::move(kept));
}

int Dims::find(int x) {
  int r = x;
  while (nodes_[r].parent >= 0) r = nodes_[r].parent;
  while (nodes_[x].parent >= 0) {
    const int next = nodes_[x].parent;
    nodes_[x].parent = r;
    x = next;
  }
  return r;
}

void Dims::freeze(int node, const std::string& why) {
  const int r = find(node);
  if (nodes_[r].kind == Kind::Leaf) {
    if (!nodes_[r].frozen) {
      nodes_[r].frozen = true;
      nodes_[r].reason = why;
    }
    return;
  }
  const std::vector<int> parts = nodes_[r].parts;
  for (int p : parts) freeze(p, why);
}

void Dims::link(int child, int root) { nodes_[child].parent = root; }

std::vector<int> Dims::flat_factors(int node) {
  const int r = find(node);
  if (nodes_[r].kind != Kind::Product) return {r};
  std::vector<int> out;
  const std::vector<int> parts = nodes_[r].parts;
  for (int p : parts) {
    const std::vector<int> f = flat_factors(p);
    out.insert(out.end(), f.begin(), f.end());
  }
  return out;
}

void Dims::split_leaf(int leaf, Kind kind, std::int64_t first) {
  const int r = find(leaf);
  const std::int64_t n = nodes_[r].size;
  const std::int64_t second = kind == Kind::Product ? n / first : n - first;
  const int a = make(first), b = make(second);
  for (int c : {a, b}) {
    nodes_[c].frozen = nodes_[r].frozen;
    nodes_[c].reason = nodes_[r].reason;
  }
  nodes_[r].kind = kind;
  nodes_[r].parts = {a, b};
  nodes_[r].frozen = false;
}

void Dims::unite(int a, int b, const std::string& why) {
  const int ra = find(a), rb = find(b);
  if (ra == rb) return;
  if (nodes_[ra].size != nodes_[rb].size || depth_ > 64) {
    freeze(ra, why);
    freeze(rb, why);
    link(rb, ra);
    return;
  }
  const Kind ka = nodes_[ra].kind, kb = nodes_[rb].kind;
  if (ka == Kind::Leaf && kb == Kind::Leaf) {
    if (nodes_[rb].frozen && !nodes_[ra].frozen) {
      nodes_[ra].frozen = true;
      nodes_[ra].reason = nodes_[rb].reason;
    }
    link(rb, ra);
    return;
  }
  // A leaf takes the other side's refinement (and hands it its frozen state).
  if (ka == Kind::Leaf || kb == Kind::Leaf) {
    const int leaf = ka == Kind::Leaf ? ra : rb, refined = ka == Kind::Leaf ? rb : ra;
    const bool was_frozen = nodes_[leaf].frozen;
    const std::string reason = nodes_[leaf].reason;
    link(leaf, refined);
    if (was_frozen) freeze(refined, reason);
    return;
  }
  ++depth_;
  if (ka == Kind::Product && kb == Kind::Product) {
    unite_products(ra, rb, why);
  } else if (ka == Kind::Sum && kb == Kind::Sum) {
    unite_sums(ra, rb, why);
  } else {
    // A product and a sum of the same axis (k repeats against k segments) could agree in
    // special cases; taking the identity for both is always sound.
    freeze(ra, why);
    freeze(rb, why);
  }
  --depth_;
  if (find(rb) != find(ra)) link(find(rb), find(ra));
}

void Dims::unite_products(int ra, int rb, const std::string& why) {
  std::vector<int> fa = flat_factors(ra), fb = flat_factors(rb);
  std::size_t i = 0, j = 0;
  while (i < fa.size() && j < fb.size()) {
    const int x = find(fa[i]), y = find(fb[j]);
    const std::int64_t sx = nodes_[x].size, sy = nodes_[y].size;
    if (sx == sy) {
      unite(x, y, why);
      ++i, ++j;
    } else if (sx < sy && sy % sx == 0 && nodes_[y].kind == Kind::Leaf) {
      split_leaf(y, Kind::Product, sx);
      fb[j] = nodes_[y].parts[0];
      fb.insert(fb.begin() + static_cast<std::ptrdiff_t>(j) + 1, nodes_[y].parts[1]);
    } else if (sy < sx && sx % sy == 0 && nodes_[x].kind == Kind::Leaf) {
      split_leaf(x, Kind::Product, sy);
      fa[i] = nodes_[x].parts[0];
      fa.insert(fa.begin() + static_cast<std::ptrdiff_t>(i) + 1, nodes_[x].parts[1]);
    } else {
      freeze(ra, why);
      freeze(rb, why);
      return;
    }
  }
}

void Dims::unite_sums(int ra, int rb, const std::string& why) {
  std::vector<int> sa = nodes_[ra].parts, sb = nodes_[rb].parts;
  std::size_t i = 0, j = 0;
  while (i < sa.size() && j < sb.size()) {
    const int x = find(sa[i]), y = find(sb[j]);
    const std::int64_t sx = nodes_[x].size, sy = nodes_[y].size;
    if (sx == sy) {
      unite(x, y, why);
      ++i, ++j;
    } else if (sx < sy && nodes_[y].kind == Kind::Leaf) {
      split_leaf(y, Kind::Sum, sx);
      sb[j] = nodes_[y].parts[0];
      sb.insert(sb.begin() + static_cast<std::ptrdiff_t>(j) + 1, nodes_[y].parts[1]);
    } else if (sy < sx && nodes_[x].kind == Kind::Leaf) {
      split_leaf(x, Kind::Sum, sy);
      sa[i] = nodes_[x].parts[0];
      sa.insert(sa.begin() + static_cast<std::ptrdiff_t>(i) + 1, nodes_[x].parts[1]);
    } else {
      freeze(ra, why);
      freeze(rb, why);
      return;
    }
  }
}

std::vector<int> Dims::leaves(int node) {
  const int r = find(node);
  if (nodes_[r].kind == Kind::Leaf) return {r};
  std::vector<int> out;
  const std::vector<int> parts = nodes_[r].parts;
  for (int p : parts) {
    const std::vector<int> l = leaves(p);
    out.insert(out.end(), l.begin(), l.end());
  }
  return out;
}

void Dims::place_into(int node, std::int64_t base, std::int64_t unit_stride, std::vector<Level> repeats,
                      std::vector<Placement>& out) {
  const int r = find(node);
  switch (nodes_[r].kind) {
    case Kind::Leaf: {
      if (nodes_[r].size <= 1 || nodes_[r].frozen) return;
      // Outer factors laid out one inside the other fold into one repeat level.
      std::vector<Level> levels;
      for (const Level& l : repeats) {
        if (l.count == 1) continue;
        if (!levels.empty() && levels.back().stride == l.count * l.stride) {
          levels.back().count *= l.count;
          levels.back().stride = l.stride;
        } else {
          levels.push_back(l);
        }
      }
      if (levels.size() > 1) {
        freeze(r, "its entries are nested too deeply in a fused axis");
        return;
      }
      Placement p;
      p.leaf = r;
      p.offset = base;
      p.inner = unit_stride;
      if (!levels.empty()) {
        p.outer = levels[0].count;
        p.stride = levels[0].stride;
      }
      out.push_back(p);
      return;
    }
    case Kind::Product: {
      const std::vector<int> f = flat_factors(r);
      std::vector<std::int64_t> inner(f.size(), 1);
      for (std::size_t j = f.size() - 1; j > 0; --j) inner[j - 1] = inner[j] * nodes_[find(f[j])].size;
      for (std::size_t j = 0; j < f.size(); ++j) {
        std::vector<Level> reps = repeats;
        for (std::size_t l = 0; l < j; ++l) reps.push_back({nodes_[find(f[l])].size, unit_stride * inner[l]});
        place_into(f[j], base, unit_stride * inner[j], reps, out);
      }
      return;
    }
    case Kind::Sum: {
      std::int64_t off = 0;
      const std::vector<int> parts = nodes_[r].parts;
      for (int p : parts) {
        place_into(p, base + off * unit_stride, unit_stride, repeats, out);
        off += nodes_[find(p)].size;
      }
      return;
    }
  }
}

std::vector<Dims::Placement> Dims::place(int node) {
  std::vector<Placement> out;
  place_into(node, 0, 1, {}, out);
  return out;
}

}  // namespace rebasin::nn::graph
