// The alignment methods as one table: the CLI's --method choices and help, the studio's method
// list, the data checks and the curve labels all read it, and align() runs a method through it.
// A new method is one source file with its run function plus one line in method_registry.cpp.
// No torch here: the studio's GUI side includes it.
#pragma once

#include <string>
#include <vector>

namespace rebasin::align {

struct AlignResult;
struct MethodCall;  // methods.h: the models, data, options, sink and cancel token of one run
using MethodRun = AlignResult (*)(const MethodCall&);

struct MethodEntry {
  std::string name;     // --method NAME
  std::string summary;  // one line: help texts and tooltips
  enum class Data { Never, Always, DataCosts };
  Data data = Data::Never;  // DataCosts: only with a data-driven cost (the Sinkhorn costs mid, rnd)
  bool uses_cost = false;   // takes --cost; its curve label names the cost (sinkhorn-l2)
  bool optimises = false;   // reports its own steps and progress (else align() reports one step)
  MethodRun run = nullptr;
  // Sends its own plan snapshots, the last ones marked `result` (plan_snapshot.h); for the
  // others align() sends the returned permutations as 0/1 plans.
  bool plans = false;
};

const std::vector<MethodEntry>& methods();
// UserError "unknown method 'x' (naive, weight, ...)" for a name not in the table.
const MethodEntry& find_method(const std::string& name);
std::vector<std::string> method_names();
// "naive, weight, activation, ste, sinkhorn, random": for messages and help.
std::string method_list();
// Costs the methods with uses_cost take: data-free first (l2, l1), then data-driven (mid, rnd).
std::vector<std::string> cost_names();
bool cost_needs_data(const std::string& cost);
bool method_needs_data(const std::string& method, const std::string& cost);
// The name curves and reports carry: "sinkhorn-l2" for a method with a cost, else the name.
std::string method_label(const std::string& method, const std::string& cost);

}  // namespace rebasin::align
