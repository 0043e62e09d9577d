// Helpers shared by the op rules (rules.cpp: arithmetic, linear algebra, convolutions, norms,
// attention; rules_shape.cpp: views, slicing, joining, reductions, structure).
#pragma once

#include <set>
#include <string>
#include <vector>

#include "nn/graph/analysis.h"

namespace rebasin::nn::graph {

std::int64_t norm_dim(std::int64_t d, std::int64_t rank);
// The input position of a schema argument by name (-1 when the op has no schema or argument).
int arg_index(const torch::jit::Node* n, const char* name);
// The probe's value of a named argument (None when absent).
c10::IValue arg(const torch::jit::Node* n, Context& c, const char* name);
std::vector<std::int64_t> int_list(const c10::IValue& v);

// Element-wise ops with broadcasting: every tensor input's axis of the output's size is
// united with the output axis it lines up with (from the right).
void broadcast(torch::jit::Node* n, Context& c, const std::string& why);
// A view: the two tensors are the same entries in row-major order.
void reshape(const torch::jit::Value* in, const torch::jit::Value* out, Context& c, const std::string& why);
// out axis i is in axis perm[i].
void reorder(const torch::jit::Value* in, const torch::jit::Value* out, const std::vector<std::int64_t>& perm,
             Context& c, const std::string& why);
// out has every axis of in but `dims` (dropped, or kept as size 1 with keepdim).
void keep_others(const torch::jit::Value* in, const torch::jit::Value* out, const std::set<std::int64_t>& dims,
                 bool keepdim, Context& c, const std::string& why);

// rules.cpp's ops; false when the kind is not one of them.
bool apply_math_rule(torch::jit::Node* n, Context& c, const std::string& kind, const std::string& why);

}  // namespace rebasin::nn::graph
