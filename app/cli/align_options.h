// The options of the re-basin methods as command-line flags, shared by align and recover.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "align/align.h"

namespace rebasin::cli {

struct AlignCliOptions {
  std::string method = "sinkhorn", cost = "l2", backward = "implicit";
  align::AlignOptions opts;
};

void add_align_options(CLI::App* cmd, AlignCliOptions& o);

// Parses method/cost/backward into o.opts (UserError when unknown).
align::AlignOptions to_align_options(AlignCliOptions& o, std::uint64_t seed);

// One status line per step on stderr, at most every `interval` seconds, plus the last.
class StepPrinter : public EventSink {
 public:
  explicit StepPrinter(double interval = 0.5) : interval_(interval) {}
  void step(const StepEvent& e) override;

 private:
  double interval_, last_ = -1e9;
};

}  // namespace rebasin::cli
