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

// What a job tells the user, on stderr: warnings always ("rebasin: note: ..."); with `quiet`
// (--json) nothing else, without it also the steps and what the job is about to do.
class CliSink : public StepPrinter {
 public:
  explicit CliSink(bool quiet) : quiet_(quiet) {}
  void step(const StepEvent& e) override {
    if (!quiet_) StepPrinter::step(e);
  }
  void note(const NoteEvent& e) override;

 private:
  bool quiet_;
};

}  // namespace rebasin::cli
