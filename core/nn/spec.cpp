#include "nn/spec.h"

#include <nlohmann/json.hpp>

#include <set>

#include "common/error.h"

namespace rebasin::nn {

int PermutationSpec::add_group(const std::string& name, std::int64_t size) {
  groups_.push_back({name, size});
  return static_cast<int>(groups_.size()) - 1;
}

void PermutationSpec::add(const std::string& name, std::vector<std::int64_t> shape,
                          std::vector<AxisTie> axes, Init init, std::int64_t fan_in, bool buffer) {
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

void PermutationSpec::validate() const {
  std::set<std::string> names;
  for (const auto& g : groups_) {
    require(g.size > 0, "spec: group '" + g.name + "' has size " + std::to_string(g.size));
    require(names.insert("group:" + g.name).second, "spec: group '" + g.name + "' is declared twice");
  }
  for (const auto& p : params_) {
    require(names.insert(p.name).second, "spec: parameter '" + p.name + "' is declared twice");
    require(p.axes.size() == p.shape.size(),
            "spec: parameter '" + p.name + "' has " + std::to_string(p.axes.size()) +
                " axis entries for a " + std::to_string(p.shape.size()) + "-D shape");
    for (std::size_t a = 0; a < p.axes.size(); ++a) {
      const AxisTie& t = p.axes[a];
      if (t.group < 0) continue;
      require(t.group < static_cast<int>(groups_.size()),
              "spec: parameter '" + p.name + "' axis " + std::to_string(a) + " names group " +
                  std::to_string(t.group) + ", which does not exist");
      require(t.inner >= 1, "spec: parameter '" + p.name + "' has inner block < 1");
      const Group& g = groups_[t.group];
      require(p.shape[a] == g.size * t.inner,
              "spec: parameter '" + p.name + "' axis " + std::to_string(a) + " has size " +
                  std::to_string(p.shape[a]) + " but group '" + g.name + "' has " +
                  std::to_string(g.size) + (t.inner > 1 ? " x " + std::to_string(t.inner) : ""));
    }
  }
}

nlohmann::json PermutationSpec::to_json() const {
  nlohmann::json groups = nlohmann::json::array(), params = nlohmann::json::array();
  for (const auto& g : groups_) groups.push_back({{"name", g.name}, {"size", g.size}});
  for (const auto& p : params_) {
    nlohmann::json axes = nlohmann::json::array();
    for (const auto& t : p.axes) {
      if (t.group < 0)
        axes.push_back(nullptr);
      else if (t.inner == 1)
        axes.push_back(groups_[t.group].name);
      else
        axes.push_back({{"group", groups_[t.group].name}, {"inner", t.inner}});
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
    for (const auto& g : j.at("groups")) s.add_group(g.at("name").get<std::string>(), g.at("size").get<std::int64_t>());
    for (const auto& p : j.at("params")) {
      std::vector<AxisTie> axes;
      for (const auto& a : p.at("axes")) {
        AxisTie t;
        const std::string gname = a.is_null() ? "" : a.is_string() ? a.get<std::string>() : a.at("group").get<std::string>();
        if (!gname.empty()) {
          t.group = s.group_index(gname);
          require(t.group >= 0, "spec: parameter '" + p.at("name").get<std::string>() + "' names unknown group '" + gname + "'");
          if (a.is_object()) t.inner = a.at("inner").get<std::int64_t>();
        }
        axes.push_back(t);
      }
      const auto shape = p.at("shape").get<std::vector<std::int64_t>>();
      require(axes.size() == shape.size(), "spec: parameter '" + p.at("name").get<std::string>() + "' has axes of the wrong length");
      s.add(p.at("name").get<std::string>(), shape, axes, Init::Zeros, 0, p.value("buffer", false));
    }
  } catch (const nlohmann::json::exception& e) {
    throw UserError(std::string("spec: malformed JSON spec (") + e.what() + ")");
  }
  s.validate();
  return s;
}

}  // namespace rebasin::nn
