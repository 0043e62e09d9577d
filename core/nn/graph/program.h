// A TorchScript module's forward as a pure function of (input, tensors...): the graph is
// inlined, every parameter and buffer the module reads becomes a graph input named by its
// state-dict name, other attributes become constants, dropout is removed (models are only
// evaluated here), and BatchNorm runs with the mode we ask for (momentum 0.1, as the built-in
// architectures use). Control flow that survives constant folding is specialised to the input
// shape it was probed with, and the conditions it took are checked again on every run.
// Keeps torch::jit out of the rest of core: only graph/ includes this.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/runtime/interpreter.h>

#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/named_tensor.h"

namespace rebasin::nn::graph {

// What the model reads: the shape of one sample and its element type (float images or
// features, int64 token ids below `vocab`).
struct InputSpec {
  std::vector<std::int64_t> shape;
  at::ScalarType dtype = at::kFloat;
  std::int64_t vocab = 0;
  // A batch of n random samples of this shape (seeded).
  at::Tensor sample(std::int64_t n, std::uint64_t seed) const;
};

class Program {
 public:
  // UserError (one line) for a file that is not a TorchScript archive or a forward we cannot
  // take as a function of one tensor.
  static Program load(const std::string& path);

  const std::string& path() const { return path_; }
  // Every parameter and buffer of the module, in state-dict order, and which are buffers.
  const NamedTensors& state() const { return state_; }
  bool is_buffer(const std::string& name) const;
  // A buffer the forward never updates (no batch_norm running statistic, no in-place write):
  // a constant of the model - a RoPE frequency table, a causal mask, position ids - which the
  // user's own code may recompute instead of loading it, so it must never be permuted.
  bool is_constant_buffer(const std::string& name) const;
  const std::vector<std::string>& constant_buffers() const { return constant_buffers_; }
  // The names of the tensors the graph reads, in the order run() takes them.
  const std::vector<std::string>& reads() const { return reads_; }

  // The graph in one mode (eval: BatchNorm uses running statistics; train: batch statistics,
  // updating the running buffers it is given in place), specialised to `input` (probe() first).
  const std::shared_ptr<torch::jit::Graph>& graph(bool train) const { return mode(train).graph; }

  // Runs the model on x with tensors in reads() order; returns the model output (the first
  // tensor it returns) followed by `extra` outputs when asked for (see with_outputs()).
  std::vector<at::Tensor> run(bool train, const at::Tensor& x, const std::vector<at::Tensor>& tensors) const;

  // Specialises both modes to inputs like `input` (runs them once on a sample): needed before
  // run(). Throws UserError when the model does not run on such inputs.
  void specialise(const InputSpec& input);
  const InputSpec& input() const { return input_; }

  // A variant of the eval graph that also returns these values (top-level values of
  // graph(false)): run_with() gives the model output first, then them.
  std::vector<at::Tensor> run_with(const std::vector<const torch::jit::Value*>& extra, const at::Tensor& x,
                                   const std::vector<at::Tensor>& tensors) const;

  // Every top-level value of the eval graph evaluated on x (in node order; graph inputs
  // first), for the analysis: tensors, ints, lists...
  std::unordered_map<const torch::jit::Value*, c10::IValue> probe(const at::Tensor& x) const;

  // The tensors reads() names, taken from the module itself.
  std::vector<at::Tensor> own_tensors() const;

 private:
  struct Mode {
    std::shared_ptr<torch::jit::Graph> base;   // as loaded: each specialisation starts from it
    std::shared_ptr<torch::jit::Graph> graph;
    std::shared_ptr<torch::jit::Code> code;
    std::size_t outputs = 1;                // the model output, then the guards
    std::vector<bool> guards;               // the value each specialised condition took
  };
  const Mode& mode(bool train) const { return train ? train_ : eval_; }
  void specialise_mode(Mode& m, const at::Tensor& x);
  void find_constant_buffers();

  std::string path_;
  torch::jit::Module module_;
  NamedTensors state_;
  std::vector<std::string> buffers_;
  std::vector<std::string> constant_buffers_;
  std::set<std::string> assigned_;  // attributes the forward assigns (self.x = ...)
  std::vector<std::string> reads_;
  Mode eval_, train_;
  InputSpec input_;
  mutable std::unordered_map<std::string, std::shared_ptr<torch::jit::Code>> variants_;
};

}  // namespace rebasin::nn::graph
