// Dimension classes for deriving permutation groups from a graph (no torch here).
//
// Every axis of every tensor in a model's graph gets a node; an op that needs two axes to be
// permuted alike unites their nodes (a residual add, a weight's input axis and the activation
// it multiplies). A node can be refined: a reshape that splits an axis of h*d into (h, d)
// makes the node a Product of two nodes; a `cat` or `split` along an axis makes it a Sum of
// segments. Every member of a class shares its refinement, so a split seen at one place (the
// view into heads) is known at every other (the projection weight's rows). A frozen node may
// only take the identity: model inputs and outputs, spatial axes, and anything an op we do
// not understand touches - with the reason, so a dropped group can say what dropped it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rebasin::nn::graph {

class Dims {
 public:
  enum class Kind { Leaf, Product, Sum };

  int make(std::int64_t size);
  // A node equal to parts laid out outer-first (Product) or one after another (Sum); parts
  // of size 1 are left out of a product, and a single remaining part is returned itself.
  int product(std::vector<int> parts);
  int sum(std::vector<int> parts);

  // The two nodes take the same permutation (their refinements are merged, splitting parts
  // where one side is finer). Layouts that cannot agree freeze both, with `why`.
  void unite(int a, int b, const std::string& why);
  // Every leaf under the node takes the identity; the first reason given is kept.
  void freeze(int node, const std::string& why);

  int find(int node);
  std::int64_t size(int node) { return nodes_[find(node)].size; }
  Kind kind(int node) { return nodes_[find(node)].kind; }
  const std::vector<int>& parts(int node) { return nodes_[find(node)].parts; }
  bool frozen(int leaf) { return nodes_[find(leaf)].frozen; }
  const std::string& reason(int leaf) { return nodes_[find(leaf)].reason; }

  // Where the units of each leaf under `node` sit along an axis laid out as that node:
  // entry = offset + o * stride + u * inner + r (o < outer, u < leaf size, r < inner).
  // Leaves nested so deep that their entries need two repeat levels are frozen instead.
  struct Placement {
    int leaf = -1;
    std::int64_t offset = 0, inner = 1, outer = 1, stride = 0;
  };
  std::vector<Placement> place(int node);

  // The leaves under a node, outer-first (products) or in order (sums).
  std::vector<int> leaves(int node);

 private:
  struct Node {
    int parent = -1;
    std::int64_t size = 1;
    Kind kind = Kind::Leaf;
    std::vector<int> parts;
    bool frozen = false;
    std::string reason;
  };
  struct Level {
    std::int64_t count, stride;
  };

  int add(std::int64_t size, Kind kind, std::vector<int> parts);
  void link(int child, int root);
  std::vector<int> flat_factors(int node);
  void split_leaf(int leaf, Kind kind, std::int64_t first);
  void unite_products(int a, int b, const std::string& why);
  void unite_sums(int a, int b, const std::string& why);
  void place_into(int node, std::int64_t base, std::int64_t unit_stride, std::vector<Level> repeats,
                  std::vector<Placement>& out);

  std::vector<Node> nodes_;
  int depth_ = 0;  // recursion guard for unite
};

}  // namespace rebasin::nn::graph
