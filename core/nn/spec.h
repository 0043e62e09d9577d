// Permutation specs (METHOD.md section 4): which permutation group each axis of each parameter
// belongs to. Every architecture declares one (built-ins by hand, TorchScript models derive it
// from their graph); users can read and write them as JSON.
// A permutation of group g (index vector perm, new unit i = old unit perm[i]) reorders every
// entry tied to g, which leaves the network's function unchanged when the spec is right.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace rebasin::nn {

struct Group {
  std::string name;
  std::int64_t size = 0;
  // Head structure (attention heads, GroupNorm groups): the units form `blocks` equal runs of
  // size / blocks consecutive units, and only permutations that move whole blocks - with any
  // reordering inside each block, one inner permutation per block - keep the function. 1: any
  // permutation does.
  std::int64_t blocks = 1;
  // Groups that must move their blocks the same way (an attention layer's query/key group and
  // its value/output group share the order of the heads) all name the first group of the set;
  // -1 for a group that stands alone.
  int link = -1;
};

// One tie of an axis to a group. The axis entries offset + o * stride + u * inner + r, for
// o < outer, u < group size and r < inner, hold unit u of the group; the group's permutation
// reorders u. The usual case is offset 0 and outer 1: the axis is (units x inner), as a Linear
// weight after Flatten sees (C, H*W). Fused or concatenated axes (attention's in_proj, a
// `cat` of two groups) carry one tie per piece; an axis split into heads x dims can carry a
// tie for each factor (the dims tie repeats for every head: outer = heads).
struct AxisTie {
  int group = -1;  // -1: not permuted (only in add()'s one-entry-per-axis form)
  std::int64_t inner = 1;
  std::int64_t offset = 0;
  std::int64_t outer = 1;
  std::int64_t stride = 0;  // distance between the repeats when outer > 1
  // The number of axis entries the tie spans (group size and the repeats included).
  std::int64_t extent(std::int64_t group_size) const {
    return outer > 1 ? (outer - 1) * stride + group_size * inner : group_size * inner;
  }
  // True when the tie covers the whole axis as (units x inner) - the fast path.
  bool whole(std::int64_t axis_size, std::int64_t group_size) const {
    return offset == 0 && outer == 1 && group_size * inner == axis_size;
  }
};

using AxisTies = std::vector<AxisTie>;  // the ties of one axis, applied in order

enum class Init { Uniform, Ones, Zeros };

struct ParamSpec {
  std::string name;
  std::vector<std::int64_t> shape;
  std::vector<AxisTies> axes;  // one entry per dimension; empty: the axis is not permuted
  bool buffer = false;         // running statistics etc.: not optimised, re-indexed by hard perms
  Init init = Init::Zeros;
  std::int64_t fan_in = 0;     // for Init::Uniform: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) as PyTorch

  // The group of the axis' first tie, or -1 (the common single-tie case).
  int group_of(std::size_t axis) const {
    return axis < axes.size() && !axes[axis].empty() ? axes[axis].front().group : -1;
  }
};

class PermutationSpec {
 public:
  int add_group(const std::string& name, std::int64_t size, std::int64_t blocks = 1, int link = -1);
  // axes: at most one tie per dimension (group -1: none); shorter lists are padded.
  void add(const std::string& name, std::vector<std::int64_t> shape, std::vector<AxisTie> axes,
           Init init = Init::Zeros, std::int64_t fan_in = 0, bool buffer = false);
  // The general form: any number of ties per dimension.
  void add_ties(const std::string& name, std::vector<std::int64_t> shape, std::vector<AxisTies> axes,
                bool buffer = false, Init init = Init::Zeros, std::int64_t fan_in = 0);

  const std::vector<Group>& groups() const { return groups_; }
  const std::vector<ParamSpec>& params() const { return params_; }
  int group_index(const std::string& name) const;  // -1 if absent
  const ParamSpec* find(const std::string& name) const;
  std::int64_t parameter_count() const;  // learnable entries (buffers excluded)
  bool has_heads() const;                // some group has blocks > 1

  // The groups that must be permuted together: each linked set (in group order), and every
  // other group on its own.
  std::vector<std::vector<int>> linked_sets() const;

  // Throws UserError unless every tie refers to an existing group and lies inside its axis,
  // names are unique and the head
  // structure is consistent (blocks divide the size; linked groups have the same blocks).
  void validate() const;

  nlohmann::json to_json() const;
  static PermutationSpec from_json(const nlohmann::json& j);  // validates

 private:
  std::vector<Group> groups_;
  std::vector<ParamSpec> params_;
};

}  // namespace rebasin::nn
