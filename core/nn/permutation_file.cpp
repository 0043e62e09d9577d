#include "nn/permutation_file.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

#include "common/error.h"
#include "io/atomic_file.h"
#include "nn/permute.h"
#include "ot/permutation.h"

namespace rebasin::nn {

void write_permutations(const std::string& path, const std::string& arch, const PermutationSpec& spec,
                        const std::vector<at::Tensor>& perms) {
  require(perms.size() == spec.groups().size(), "permutations: one per group expected");
  nlohmann::json groups = nlohmann::json::array();
  for (std::size_t g = 0; g < perms.size(); ++g) {
    ot::check_permutation(perms[g], spec.groups()[g].size);
    const at::Tensor p = perms[g].to(at::kCPU).contiguous();
    std::vector<std::int64_t> v(p.data_ptr<std::int64_t>(), p.data_ptr<std::int64_t>() + p.numel());
    groups.push_back({{"name", spec.groups()[g].name}, {"size", spec.groups()[g].size}, {"perm", v}});
  }
  const nlohmann::json j = {{"format", "rebasin-permutations"}, {"version", 1}, {"arch", arch}, {"groups", groups}};
  io::write_file_atomically(path, j.dump() + "\n");
}

std::vector<at::Tensor> read_permutations(const std::string& path, const PermutationSpec& spec) {
  std::ifstream in(path, std::ios::binary);
  require(in.good(), path + ": cannot open the permutation file");
  std::stringstream ss;
  ss << in.rdbuf();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(ss.str());
  } catch (const nlohmann::json::exception&) {
    throw UserError(path + ": not a JSON permutation file");
  }
  require(j.is_object() && j.value("format", "") == "rebasin-permutations" && j.contains("groups") &&
              j["groups"].is_array(),
          path + ": not a rebasin permutation file (expected \"format\": \"rebasin-permutations\")");
  const auto& groups = j["groups"];
  // A file of a transformer aligned with its residual stream as a group has one group more.
  const std::string arch = j.contains("arch") && j["arch"].is_string() ? j["arch"].get<std::string>() : "";
  const bool shared = arch.size() > 7 && arch.compare(arch.size() - 7, 7, ":shared") == 0;
  require(groups.size() == spec.groups().size(),
          path + ": has " + std::to_string(groups.size()) + " groups, the model has " +
              std::to_string(spec.groups().size()) +
              (shared ? " (the file is for " + arch + ": pass --residual shared)" : ""));
  std::vector<at::Tensor> perms;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const auto& e = groups[g];
    const Group& want = spec.groups()[g];
    require(e.is_object() && e.value("name", "") == want.name && e.contains("perm") && e["perm"].is_array(),
            path + ": group " + std::to_string(g) + " should be '" + want.name + "'");
    std::vector<std::int64_t> v;
    for (const auto& x : e["perm"]) {
      require(x.is_number_integer(), path + ": group '" + want.name + "' has a non-integer entry");
      v.push_back(x.get<std::int64_t>());
    }
    at::Tensor p = at::tensor(v, at::kLong);
    try {
      ot::check_permutation(p, want.size);
    } catch (const UserError& err) {
      throw UserError(path + ": group '" + want.name + "': " + err.what());
    }
    perms.push_back(p);
  }
  try {
    check_permutations(spec, perms);  // head structure
  } catch (const UserError& err) {
    throw UserError(path + ": " + err.what());
  }
  return perms;
}

}  // namespace rebasin::nn
