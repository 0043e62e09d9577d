// Permutation specs (METHOD.md section 4): which permutation group each axis of each parameter
// belongs to. Every built-in architecture declares one; users can read and write them as JSON.
// A permutation of group g (index vector perm, new unit i = old unit perm[i]) reorders every
// axis tied to g, which leaves the network's function unchanged when the spec is right.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace rebasin::nn {

struct Group {
  std::string name;
  std::int64_t size = 0;
};

// An axis tied to a group. `inner` > 1 means the axis is (group units) x (inner) flattened, as
// a Linear weight after Flatten sees (C, H*W): the group permutes the outer index.
struct AxisTie {
  int group = -1;  // -1: not permuted
  std::int64_t inner = 1;
};

enum class Init { Uniform, Ones, Zeros };

struct ParamSpec {
  std::string name;
  std::vector<std::int64_t> shape;
  std::vector<AxisTie> axes;  // one per dimension
  bool buffer = false;        // running statistics etc.: not optimised, re-indexed by hard perms
  Init init = Init::Zeros;
  std::int64_t fan_in = 0;    // for Init::Uniform: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) as PyTorch
};

class PermutationSpec {
 public:
  int add_group(const std::string& name, std::int64_t size);
  // axes: group index per dimension (-1 none); shorter lists are padded with -1.
  void add(const std::string& name, std::vector<std::int64_t> shape, std::vector<AxisTie> axes,
           Init init = Init::Zeros, std::int64_t fan_in = 0, bool buffer = false);

  const std::vector<Group>& groups() const { return groups_; }
  const std::vector<ParamSpec>& params() const { return params_; }
  int group_index(const std::string& name) const;  // -1 if absent
  const ParamSpec* find(const std::string& name) const;
  std::int64_t parameter_count() const;  // learnable entries (buffers excluded)

  // Throws UserError unless every tie refers to an existing group and sizes agree
  // (axis size == group size * inner) and names are unique.
  void validate() const;

  nlohmann::json to_json() const;
  static PermutationSpec from_json(const nlohmann::json& j);  // validates

 private:
  std::vector<Group> groups_;
  std::vector<ParamSpec> params_;
};

}  // namespace rebasin::nn
