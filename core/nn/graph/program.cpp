#include "nn/graph/program.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/util/Exception.h>
#include <torch/csrc/jit/passes/constant_propagation.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/inliner.h>
#include <torch/csrc/jit/serialization/import.h>

#include <algorithm>
#include <set>

#include "common/error.h"
#include "io/torch_archive.h"

namespace rebasin::nn::graph {

namespace jit = torch::jit;

namespace {

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

std::string shape_text(const std::vector<std::int64_t>& s) {
  std::string t;
  for (std::size_t i = 0; i < s.size(); ++i) t += (i ? "x" : "") + std::to_string(s[i]);
  return t;
}

// Visits every node, nested blocks included, in program order.
template <typename F>
void for_each_node(jit::Block* block, F&& f) {
  for (jit::Node* n : block->nodes()) {
    f(n);
    for (jit::Block* b : n->blocks()) for_each_node(b, f);
  }
}

bool is_dropout(const jit::Node* n) {
  static const std::set<std::string> kinds = {
      "aten::dropout", "aten::dropout_", "aten::feature_dropout", "aten::feature_dropout_",
      "aten::alpha_dropout", "aten::alpha_dropout_", "aten::feature_alpha_dropout", "aten::feature_alpha_dropout_"};
  return kinds.count(n->kind().toQualString()) > 0;
}

jit::Stack run_code(const jit::Code& code, const at::Tensor& x, const std::vector<at::Tensor>& tensors) {
  jit::Stack stack;
  stack.reserve(tensors.size() + 1);
  stack.emplace_back(x);
  for (const at::Tensor& t : tensors) stack.emplace_back(t);
  jit::InterpreterState state(code);
  state.run(stack);
  return stack;
}

}  // namespace

at::Tensor InputSpec::sample(std::int64_t n, std::uint64_t seed) const {
  std::vector<std::int64_t> s = {n};
  s.insert(s.end(), shape.begin(), shape.end());
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  if (dtype == at::kLong) return at::randint(std::max<std::int64_t>(vocab, 1), s, gen, at::kLong);
  return at::randn(s, gen, at::kFloat);
}

bool Program::is_buffer(const std::string& name) const {
  return std::find(buffers_.begin(), buffers_.end(), name) != buffers_.end();
}

bool Program::is_constant_buffer(const std::string& name) const {
  return std::find(constant_buffers_.begin(), constant_buffers_.end(), name) != constant_buffers_.end();
}

std::vector<at::Tensor> Program::own_tensors() const {
  std::vector<at::Tensor> out;
  for (const auto& t : state_) out.push_back(t.tensor);
  return out;
}

Program Program::load(const std::string& path) {
  Program p;
  p.path_ = path;
  require(io::is_torchscript(io::list_zip_records(path)),
          path + ": not a TorchScript archive (save the model with torch.jit.script or torch.jit.trace, then torch.jit.save)");
  try {
    p.module_ = jit::load(path, c10::Device(c10::kCPU));
  } catch (const c10::Error& e) {
    throw UserError(path + ": cannot load TorchScript archive: " + first_line(e.what_without_backtrace()));
  } catch (const std::exception& e) {
    throw UserError(path + ": cannot load TorchScript archive: " + first_line(e.what()));
  }
  p.module_.eval();
  for (const auto& sub : p.module_.named_modules()) {
    const std::string prefix = sub.name.empty() ? "" : sub.name + ".";
    for (const auto& t : sub.value.named_parameters(/*recurse=*/false)) p.state_.push_back({prefix + t.name, t.value.detach()});
    for (const auto& t : sub.value.named_buffers(/*recurse=*/false)) {
      p.state_.push_back({prefix + t.name, t.value.detach()});
      p.buffers_.push_back(prefix + t.name);
    }
  }
  for (const auto& t : p.state_) p.reads_.push_back(t.name);

  const auto method = p.module_.find_method("forward");
  require(method.has_value(), path + ": the TorchScript module has no forward method");
  for (bool train : {false, true}) {
    Mode& m = train ? p.train_ : p.eval_;
    try {
      m.graph = method->graph()->copy();
      jit::Inline(*m.graph);
    } catch (const c10::Error& e) {
      throw UserError(path + ": cannot read the forward graph: " + first_line(e.what_without_backtrace()));
    }
    jit::Graph& g = *m.graph;
    require(g.inputs().size() == 2, path + ": forward takes " + std::to_string(g.inputs().size() - 1) +
                                        " inputs; only models of one input tensor are supported");
    jit::Value* self = g.inputs()[0];
    std::unordered_map<std::string, jit::Value*> input_of;
    for (const auto& t : p.state_) {
      jit::Value* v = g.addInput();
      v->setType(c10::TensorType::get());
      input_of[t.name] = v;
    }
    // Attribute reads: submodules are followed, tensors become inputs, the rest constants.
    std::unordered_map<jit::Value*, std::pair<std::string, jit::Module>> modules = {{self, {"", p.module_}}};
    std::vector<jit::Node*> dead;
    for_each_node(g.block(), [&](jit::Node* n) {
      if (n->kind() == c10::prim::SetAttr) {
        dead.push_back(n);  // state updates (counters, caches): a forward here is a pure function
        if (const auto it = modules.find(n->input(0)); it != modules.end())
          p.assigned_.insert(it->second.first + n->s(c10::attr::name));
        return;
      }
      if (n->kind() != c10::prim::GetAttr) return;
      const auto it = modules.find(n->input(0));
      const std::string name = n->s(c10::attr::name);
      require(it != modules.end(), path + ": forward reads attribute '" + name + "' of a value that is not a module");
      const std::string full = it->second.first + name;
      const c10::IValue v = it->second.second.attr(name);
      dead.push_back(n);
      if (v.isObject() && v.toObject()->type()->is_module()) {
        modules[n->output()] = {full + ".", jit::Module(v.toObject())};
        return;
      }
      jit::Value* repl = nullptr;
      if (v.isTensor() && input_of.count(full)) {
        repl = input_of[full];
      } else {
        jit::WithInsertPoint ip(n);
        try {
          repl = g.insertConstant(name == "training" && v.isBool() ? c10::IValue(train) : v);
        } catch (const c10::Error&) {
          throw UserError(path + ": forward reads attribute '" + full + "' of type " + v.tagKind() +
                          ", which cannot be turned into a constant");
        }
      }
      n->output()->replaceAllUsesWith(repl);
    });
    for (auto it = dead.rbegin(); it != dead.rend(); ++it) {
      for (jit::Value* o : (*it)->outputs())
        require(!o->hasUses(), path + ": forward passes the submodule '" + modules[o].first +
                                   "' around as a value (only attribute reads are supported)");
      (*it)->destroy();
    }
    require(!self->hasUses(), path + ": forward uses the module object itself (a method that could not be inlined?)");
    g.eraseInput(0);

    std::vector<jit::Node*> dropouts;
    for_each_node(g.block(), [&](jit::Node* n) {
      if (is_dropout(n)) dropouts.push_back(n);
      if (n->kind().toQualString() == std::string("aten::batch_norm") && n->inputs().size() >= 7) {
        jit::WithInsertPoint ip(n);
        n->replaceInput(5, g.insertConstant(train));
        n->replaceInput(6, g.insertConstant(0.1));  // the momentum eval::reset_batchnorm expects
      }
    });
    for (jit::Node* n : dropouts) {
      n->output()->replaceAllUsesWith(n->input(0));
      n->destroy();
    }
    // The model output: a tensor, or the first item of a returned tuple.
    jit::Value* out = g.outputs()[0];
    if (out->type()->kind() == c10::TypeKind::TupleType) {
      jit::WithInsertPoint ip(g.return_node());
      out = g.insertNode(g.createTupleUnpack(out))->outputs().at(0);
    }
    require(out->type()->isSubtypeOf(*c10::TensorType::get()),
            path + ": forward returns " + out->type()->annotation_str() +
                "; only models returning a tensor (or a tuple starting with one) are supported");
    g.eraseOutput(0);
    g.registerOutput(out);
    try {
      jit::ConstantPropagation(m.graph);
      jit::EliminateDeadCode(m.graph);
    } catch (const c10::Error& e) {
      throw UserError(path + ": cannot simplify the forward graph: " + first_line(e.what_without_backtrace()));
    }
    m.base = m.graph->copy();
  }
  p.find_constant_buffers();
  return p;
}

void Program::find_constant_buffers() {
  // Buffers the model keeps up to date itself: running statistics (batch_norm's and
  // instance_norm's running mean and variance, which the schema does not mark as written) and
  // anything an op writes in place (the schema's alias annotation), in either mode.
  std::set<const jit::Value*> updated;
  for (const Mode* m : {&eval_, &train_})
    for_each_node(m->graph->block(), [&](jit::Node* n) {
      const std::string kind = n->kind().toQualString();
      if ((kind == "aten::batch_norm" || kind == "aten::instance_norm") && n->inputs().size() >= 5) {
        updated.insert(n->input(3));
        updated.insert(n->input(4));
      }
      if (const c10::FunctionSchema* schema = n->maybeSchema())
        for (std::size_t i = 0; i < schema->arguments().size() && i < n->inputs().size(); ++i) {
          const c10::AliasInfo* alias = schema->arguments()[i].alias_info();
          if (alias && alias->isWrite()) updated.insert(n->input(i));
        }
    });
  for (const std::string& name : buffers_) {
    const std::size_t i = std::find(reads_.begin(), reads_.end(), name) - reads_.begin();
    bool written = false;
    for (const Mode* m : {&eval_, &train_}) written = written || updated.count(m->graph->inputs()[i + 1]) > 0;
    if (!written && !assigned_.count(name)) constant_buffers_.push_back(name);
  }
}

void Program::specialise_mode(Mode& m, const at::Tensor& x) {
  jit::Graph& g = *m.graph;
  const std::vector<at::Tensor> tensors = own_tensors();
  for (int round = 0; round < 32; ++round) {
    std::vector<jit::Node*> ifs;
    for (jit::Node* n : g.nodes())
      if (n->kind() == c10::prim::If) ifs.push_back(n);
    if (ifs.empty()) break;
    // Evaluate the conditions once, then keep the branches taken; each condition stays as an
    // output, checked after every run.
    const std::size_t first = g.outputs().size();
    for (jit::Node* n : ifs) g.registerOutput(n->input(0));
    jit::Stack stack;
    try {
      stack = run_code(jit::Code(m.graph, "probe"), x, tensors);
    } catch (const std::exception& e) {
      while (g.outputs().size() > first) g.eraseOutput(g.outputs().size() - 1);
      throw UserError(path_ + ": the model does not run on inputs of shape " + shape_text(input_.shape) + ": " +
                      first_line(e.what()));
    }
    for (std::size_t k = 0; k < ifs.size(); ++k) {
      jit::Node* n = ifs[k];
      const bool taken = stack.at(first + k).toBool();
      m.guards.push_back(taken);
      jit::Block* b = n->blocks()[taken ? 0 : 1];
      for (auto it = b->nodes().begin(); it != b->nodes().end();) {
        jit::Node* inner = *it;
        ++it;
        inner->moveBefore(n);
      }
      for (std::size_t i = 0; i < n->outputs().size(); ++i) n->outputs()[i]->replaceAllUsesWith(b->outputs()[i]);
      n->destroy();
    }
    jit::EliminateDeadCode(m.graph);
  }
  m.outputs = g.outputs().size();
  m.code = std::make_shared<jit::Code>(m.graph, "forward");
}

void Program::specialise(const InputSpec& input) {
  input_ = input;
  variants_.clear();
  const at::Tensor x = input.sample(2, 0);
  for (Mode* m : {&eval_, &train_}) {
    m->guards.clear();
    m->code.reset();
    m->graph = m->base->copy();
    specialise_mode(*m, x);
  }
  // One run in each mode: a model that fails here says so now, not in the middle of a job.
  for (bool train : {false, true}) {
    try {
      std::vector<at::Tensor> tensors;
      for (const auto& t : state_) tensors.push_back(train ? t.tensor.clone() : t.tensor);
      run(train, x, tensors);
    } catch (const UserError&) {
      throw;
    } catch (const std::exception& e) {
      throw UserError(path_ + ": the model does not run on inputs of shape " + shape_text(input.shape) + ": " +
                      first_line(e.what()));
    }
  }
}

std::vector<at::Tensor> Program::run(bool train, const at::Tensor& x, const std::vector<at::Tensor>& tensors) const {
  const Mode& m = mode(train);
  require(m.code != nullptr, path_ + ": the model was not specialised to an input shape");
  jit::Stack stack = run_code(*m.code, x, tensors);
  for (std::size_t k = 0; k < m.guards.size(); ++k)
    require(stack.at(1 + k).toBool() == m.guards[k],
            path_ + ": the model's control flow took another branch than on inputs of shape " +
                shape_text(input_.shape) + " (does it depend on the batch size?)");
  return {stack.at(0).toTensor()};
}

std::vector<at::Tensor> Program::run_with(const std::vector<const jit::Value*>& extra, const at::Tensor& x,
                                          const std::vector<at::Tensor>& tensors) const {
  std::string key;
  for (const jit::Value* v : extra) key += std::to_string(v->unique()) + ",";
  auto it = variants_.find(key);
  if (it == variants_.end()) {
    jit::Graph& g = *eval_.graph;
    const std::size_t first = g.outputs().size();
    for (const jit::Value* v : extra) g.registerOutput(const_cast<jit::Value*>(v));
    auto code = std::make_shared<jit::Code>(eval_.graph, "forward_with");  // copies the graph
    while (g.outputs().size() > first) g.eraseOutput(g.outputs().size() - 1);
    it = variants_.emplace(key, code).first;
  }
  jit::Stack stack = run_code(*it->second, x, tensors);
  std::vector<at::Tensor> out = {stack.at(0).toTensor()};
  for (std::size_t k = 0; k < extra.size(); ++k) out.push_back(stack.at(eval_.outputs + k).toTensor());
  return out;
}

std::unordered_map<const jit::Value*, c10::IValue> Program::probe(const at::Tensor& x) const {
  jit::Graph& g = *eval_.graph;
  const std::size_t first = g.outputs().size();
  std::vector<const jit::Value*> values;
  for (jit::Node* n : g.nodes())
    for (jit::Value* o : n->outputs()) {
      g.registerOutput(o);
      values.push_back(o);
    }
  std::shared_ptr<jit::Code> code;
  try {
    code = std::make_shared<jit::Code>(eval_.graph, "probe");
  } catch (...) {
    while (g.outputs().size() > first) g.eraseOutput(g.outputs().size() - 1);
    throw;
  }
  while (g.outputs().size() > first) g.eraseOutput(g.outputs().size() - 1);
  const std::vector<at::Tensor> tensors = own_tensors();
  jit::Stack stack = run_code(*code, x, tensors);
  std::unordered_map<const jit::Value*, c10::IValue> out;
  out[g.inputs()[0]] = x;
  for (std::size_t i = 0; i < tensors.size(); ++i) out[g.inputs()[i + 1]] = tensors[i];
  for (std::size_t k = 0; k < values.size(); ++k) out[values[k]] = stack.at(first + k);
  return out;
}

}  // namespace rebasin::nn::graph
