// A permutation spec derived from a TorchScript program: the dimension classes left free after
// every op's rule (analysis.h) that reach the model's tensors become permutation groups; a
// head x dim pair that always travels together becomes a head-structured group (one per dim
// class, linked: they share the order of the heads). Every group is then verified by permuting
// the model and running it (verify.cpp); what fails is split or dropped, with the reason.
#pragma once

#include <string>
#include <vector>

#include "nn/graph/program.h"
#include "nn/graph/report.h"
#include "nn/spec.h"

namespace rebasin::nn::graph {

// Where a group's units can be watched: a value of the eval graph, with the axes (in order)
// whose entries, flattened, are the group's units, and the batch axis.
struct ActivationSite {
  const torch::jit::Value* value = nullptr;
  std::int64_t batch_axis = 0;
  std::vector<std::int64_t> unit_axes;  // one axis (plain), or the head axis then the dim axis
};

struct Derivation {
  PermutationSpec spec;                 // the verified groups; every tensor of the model listed
  std::vector<DroppedGroup> dropped;
  std::vector<ActivationSite> sites;    // per group of spec (value nullptr: none found)
  double seconds = 0;                   // deriving and verifying
};

// The program must be specialised (Program::specialise) to the input it will see.
Derivation derive(const Program& program);

// --- verify.cpp ---

// The model's output on `x` after permuting its tensors (in reads() order) through `spec` by
// `perms` (one per group) against the unpermuted output: max |difference| / max |output|.
double permutation_error(const Program& program, const PermutationSpec& spec, const NamedTensors& tensors,
                         const std::vector<at::Tensor>& perms, const at::Tensor& x);

// Indices (into spec.linked_sets()) of the sets whose random permutation changes the model's
// function on random inputs (relative tolerance 1e-4), tested on a perturbed copy of the
// model's tensors (so zero biases or unit variances hide nothing). All sets are tried at once
// first; a failure is narrowed down by halves.
std::vector<std::size_t> failing_sets(const Program& program, const PermutationSpec& spec, std::uint64_t seed);

}  // namespace rebasin::nn::graph
