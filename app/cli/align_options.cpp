#include "align_options.h"

#include <cstdio>
#include <iostream>

#include "common/error.h"

namespace rebasin::cli {

void add_align_options(CLI::App* cmd, AlignCliOptions& o) {
  std::string methods;
  for (const align::MethodEntry& m : align::methods()) methods += "\n  " + m.name + ": " + m.summary;
  cmd->add_option("--method", o.method, "Alignment method:" + methods)
      ->check(CLI::IsMember(align::method_names()))
      ->capture_default_str();
  cmd->add_option("--cost", o.cost, "Sinkhorn cost: l2, l1 (data free), mid, rnd (need --data)")
      ->check(CLI::IsMember(align::cost_names()))
      ->capture_default_str();
  cmd->add_option("--tau", o.opts.tau, "Sinkhorn temperature")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--iters", o.opts.sinkhorn_iters, "Sinkhorn iterations per step")->check(CLI::Range(1, 10000))->capture_default_str();
  cmd->add_option("--lr", o.opts.lr, "Learning rate (0: the method's default: sinkhorn 1.5 per group times ln(n), ramped up over 10 steps from the identity start; ste 1e-3)")->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--steps", o.opts.steps, "Optimisation steps (0: the method's default: sinkhorn 200, ste 100)")->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--init", o.opts.init,
                  "Sinkhorn start: identity, weight (warm start from weight matching) or auto (weight for "
                  "the mid and rnd costs, identity for l2 and l1)")
      ->check(CLI::IsMember({"identity", "weight", "auto"}))
      ->capture_default_str();
  cmd->add_option("--patience", o.opts.patience,
                  "Sinkhorn: stop after this many steps without a better hard permutation (-1: auto, 10 for "
                  "l2/l1 and 50 for mid/rnd; 0: run every step)")
      ->check(CLI::Range(-1, 1000000))
      ->capture_default_str();
  cmd->add_option("--backward", o.backward, "Sinkhorn gradient: implicit or unrolled")
      ->check(CLI::IsMember({"implicit", "unrolled"}))
      ->capture_default_str();
  cmd->add_option("--batch-size", o.opts.batch_size, "Batch size of the data-driven costs and methods")->check(CLI::Range(1, 1 << 20))->capture_default_str();
}

align::AlignOptions to_align_options(AlignCliOptions& o, std::uint64_t seed) {
  align::AlignOptions a = o.opts;
  a.method = align::parse_method(o.method);
  a.cost = align::parse_cost(o.cost);
  a.backward = o.backward == "unrolled" ? ot::SinkhornBackward::Unrolled : ot::SinkhornBackward::Implicit;
  a.seed = seed;
  return a;
}

void CliSink::note(const NoteEvent& e) {
  if (e.warning)
    std::cerr << "rebasin: note: " << e.text << std::endl;
  else if (!quiet_)
    std::cerr << e.text << std::endl;
}

void StepPrinter::step(const StepEvent& e) {
  if (e.seconds - last_ < interval_ && e.step != e.steps) return;
  last_ = e.seconds;
  char line[160];
  std::snprintf(line, sizeof line, "step %d/%d: cost %.6g, hard cost %.6g, %.1f s", e.step, e.steps, e.cost,
                e.hard_cost, e.seconds);
  std::cerr << line << std::endl;
}

}  // namespace rebasin::cli
