#include "nn/spec.h"

#include <nlohmann/json.hpp>

#include <set>

#include "common/error.h"

namespace rebasin::nn {

int PermutationSpec::add_group(const std::string& name, std::int64_t size, std::int64_t blocks, int link) {
  groups_.push_back({name, size, blocks, link});
  return static_cast<int>(groups_.size()) - 1;
}

void PermutationSpec::add(const std::string& name, std::vector<std::int64_t> shape,
                          std::vector<AxisTie> axes, Init init, std::int64_t fan_in, bool buffer) {
  std::vector<AxisTies> ties(shape.size());
  for (std::size_t a = 0; a < axes.size() && a < shape.size(); ++a)
    if (axes[a].group >= 0) ties[a].push_back(axes[a]);
  params_.push_back({name, std::move(shape), std::move(ties), buffer, init, fan_in});
}

void PermutationSpec::add_ties(const std::string& name, std::vector<std::int64_t> shape,
                               std::vector<AxisTies> axes, bool buffer, Init init, std::int64_t fan_in) {
  axes.resize(shape.size());
  params_.push_back({name, std::move(shape), std::move(axes), buffer, init, fan_in});
}

int PermutationSpec::group_index(const std::string& name) const {
  for (std::size_t g = 0; g < groups_.size(); ++g)
    if (groups_[g].name == name) return static_cast<int>(g);
  return -1;
}

const ParamSpec* PermutationSpec::find(const std::string& name) const {
  for (const auto& p : params_)
    if (p.name == name) return &p;
  return nullptr;
}

std::int64_t PermutationSpec::parameter_count() const {
  std::int64_t total = 0;
  for (const auto& p : params_) {
    if (p.buffer) continue;
    std::int64_t n = 1;
    for (auto d : p.shape) n *= d;
    total += n;
  }
  return total;
}

bool PermutationSpec::has_heads() const {
  for (const auto& g : groups_)
    if (g.blocks > 1) return true;
  return false;
}

std::vector<std::vector<int>> PermutationSpec::linked_sets() const {
  std::vector<std::vector<int>> sets;
  std::vector<int> set_of(groups_.size(), -1);
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const int lead = groups_[g].link >= 0 ? groups_[g].link : static_cast<int>(g);
    if (set_of[lead] < 0) {
      set_of[lead] = static_cast<int>(sets.size());
      sets.emplace_back();
    }
    sets[set_of[lead]].push_back(static_cast<int>(g));
  }
  return sets;
}

void PermutationSpec::validate() const {
  std::set<std::string> names;
  for (std::size_t i = 0; i < groups_.size(); ++i) {
    const Group& g = groups_[i];
    require(g.size > 0, "spec: group '" + g.name + "' has size " + std::to_string(g.size));
    require(names.insert("group:" + g.name).second, "spec: group '" + g.name + "' is declared twice");
    require(g.blocks >= 1 && g.size % g.blocks == 0,
            "spec: group '" + g.name + "' of " + std::to_string(g.size) + " units cannot form " +
                std::to_string(g.blocks) + " equal blocks");
    if (g.link >= 0) {
      require(g.link < static_cast<int>(i) && groups_[g.link].link < 0,
              "spec: group '" + g.name + "' must link to an earlier group that links to none");
      require(groups_[g.link].blocks == g.blocks && g.blocks > 1,
              "spec: linked groups '" + groups_[g.link].name + "' and '" + g.name +
                  "' must have the same number of blocks (heads)");
    }
  }
  for (const auto& p : params_) {
    require(names.insert(p.name).second, "spec: parameter '" + p.name + "' is declared twice");
    require(p.axes.size() == p.shape.size(),
            "spec: parameter '" + p.name + "' has " + std::to_string(p.axes.size()) +
                " axis entries for a " + std::to_string(p.shape.size()) + "-D shape");
    for (std::size_t a = 0; a < p.axes.size(); ++a) {
      for (const AxisTie& t : p.axes[a]) {
        const std::string where = "spec: parameter '" + p.name + "' axis " + std::to_string(a);
        require(t.group >= 0 && t.group < static_cast<int>(groups_.size()),
                where + " names group " + std::to_string(t.group) + ", which does not exist");
        require(t.inner >= 1 && t.outer >= 1 && t.offset >= 0, where + " has a tie with inner or outer < 1");
        const Group& g = groups_[t.group];
        if (t.offset == 0 && t.outer == 1 && g.size * t.inner > p.shape[a])
          throw UserError(where + " has size " + std::to_string(p.shape[a]) + " but group '" + g.name +
                          "' has " + std::to_string(g.size) + (t.inner > 1 ? " x " + std::to_string(t.inner) : ""));
        require(t.outer == 1 || t.stride >= g.size * t.inner,
                where + ": the repeats of group '" + g.name + "' overlap (stride too small)");
        require(t.offset + t.extent(g.size) <= p.shape[a],
                where + " has size " + std::to_string(p.shape[a]) + ", too small for its tie to group '" +
                    g.name + "' (" + std::to_string(t.offset + t.extent(g.size)) + " entries)");
      }
    }
  }
}

namespace {

nlohmann::json tie_json(const AxisTie& t, const std::vector<Group>& groups) {
  nlohmann::json j = {{"group", groups[t.group].name}, {"inner", t.inner}};
  if (t.offset != 0) j["offset"] = t.offset;
  if (t.outer != 1) {
    j["outer"] = t.outer;
    j["stride"] = t.stride;
  }
  return j;
}

AxisTie tie_from_json(const nlohmann::json& a, const PermutationSpec& s, const std::string& param) {
  AxisTie t;
  const std::string gname = a.is_string() ? a.get<std::string>() : a.at("group").get<std::string>();
  t.group = s.group_index(gname);
  require(t.group >= 0, "spec: parameter '" + param + "' names unknown group '" + gname + "'");
  if (a.is_object()) {
    t.inner = a.value("inner", std::int64_t{1});
    t.offset = a.value("offset", std::int64_t{0});
    t.outer = a.value("outer", std::int64_t{1});
    t.stride = a.value("stride", std::int64_t{0});
  }
  return t;
}

}  // namespace

nlohmann::json PermutationSpec::to_json() const {
  nlohmann::json groups = nlohmann::json::array(), params = nlohmann::json::array();
  for (const auto& g : groups_) {
    nlohmann::json j = {{"name", g.name}, {"size", g.size}};
    if (g.blocks > 1) j["blocks"] = g.blocks;
    if (g.link >= 0) j["link"] = groups_[g.link].name;
    groups.push_back(j);
  }
  for (const auto& p : params_) {
    nlohmann::json axes = nlohmann::json::array();
    for (const auto& ties : p.axes) {
      if (ties.empty()) {
        axes.push_back(nullptr);
      } else if (ties.size() == 1 && ties[0].offset == 0 && ties[0].outer == 1) {
        if (ties[0].inner == 1) axes.push_back(groups_[ties[0].group].name);
        else axes.push_back({{"group", groups_[ties[0].group].name}, {"inner", ties[0].inner}});
      } else {
        nlohmann::json list = nlohmann::json::array();
        for (const auto& t : ties) list.push_back(tie_json(t, groups_));
        axes.push_back(list);
      }
    }
    params.push_back({{"name", p.name}, {"shape", p.shape}, {"axes", axes}, {"buffer", p.buffer}});
  }
  return {{"groups", groups}, {"params", params}};
}

PermutationSpec PermutationSpec::from_json(const nlohmann::json& j) {
  PermutationSpec s;
  try {
    require(j.is_object() && j.contains("groups") && j.contains("params"),
            "spec: expected an object with \"groups\" and \"params\"");
    for (const auto& g : j.at("groups")) {
      int link = -1;
      if (g.contains("link")) {
        link = s.group_index(g.at("link").get<std::string>());
        require(link >= 0, "spec: group '" + g.at("name").get<std::string>() + "' links to an unknown group");
      }
      s.add_group(g.at("name").get<std::string>(), g.at("size").get<std::int64_t>(),
                  g.value("blocks", std::int64_t{1}), link);
    }
    for (const auto& p : j.at("params")) {
      const std::string name = p.at("name").get<std::string>();
      std::vector<AxisTies> axes;
      for (const auto& a : p.at("axes")) {
        AxisTies ties;
        if (a.is_array()) {
          for (const auto& t : a) ties.push_back(tie_from_json(t, s, name));
        } else if (!a.is_null()) {
          ties.push_back(tie_from_json(a, s, name));
        }
        axes.push_back(ties);
      }
      const auto shape = p.at("shape").get<std::vector<std::int64_t>>();
      require(axes.size() == shape.size(), "spec: parameter '" + name + "' has axes of the wrong length");
      s.add_ties(name, shape, axes, p.value("buffer", false));
    }
  } catch (const nlohmann::json::exception& e) {
    throw UserError(std::string("spec: malformed JSON spec (") + e.what() + ")");
  }
  s.validate();
  return s;
}

}  // namespace rebasin::nn
