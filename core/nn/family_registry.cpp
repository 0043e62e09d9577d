// The table of architecture families (family_registry.h). Each family's functions live in its
// own source file; their declarations sit beside its line here.
#include "nn/family_registry.h"

#include "nn/graph/graph_architecture.h"

namespace rebasin::nn {

// torchscript: nn/graph/graph_architecture.cpp
bool torchscript_owns(const std::string& arch);
std::unique_ptr<Architecture> make_torchscript(const std::string& arch, const ModelIO& io);
// mlp.cpp
bool mlp_owns(const std::string& arch);
std::unique_ptr<Architecture> make_mlp_family(const std::string& arch, const ModelIO& io);
void mlp_candidates(const CheckpointView& c, const ModelIO& io, ArchCandidates& out);
// torchvision.cpp
bool torchvision_owns(const std::string& arch);
std::unique_ptr<Architecture> make_torchvision(const std::string& arch, const ModelIO& io);
void torchvision_candidates(const CheckpointView& c, const ModelIO& io, ArchCandidates& out);
// resnet.cpp
bool resnet_owns(const std::string& arch);
std::unique_ptr<Architecture> make_resnet(const std::string& arch, const ModelIO& io);
void resnet_candidates(const CheckpointView& c, const ModelIO& io, ArchCandidates& out);
// vgg.cpp
bool vgg_owns(const std::string& arch);
std::unique_ptr<Architecture> make_vgg(const std::string& arch, const ModelIO& io);
void vgg_candidates(const CheckpointView& c, const ModelIO& io, ArchCandidates& out);
// transformer.cpp
bool transformer_owns(const std::string& arch);
std::unique_ptr<Architecture> make_transformer(const std::string& arch, const ModelIO& io);
std::string transformer_incomplete(const CheckpointView& c);
std::vector<ModelIO> transformer_sizes(const std::string& arch, const CheckpointView& c);

const std::vector<ArchFamily>& arch_families() {
  // Order: a TorchScript file first (a path may start like a built-in's name); --arch auto lists
  // the candidates that fit in this order.
  static const std::vector<ArchFamily> table = {
      {"torchscript", "the path of a TorchScript model", torchscript_owns, make_torchscript, nullptr, nullptr, nullptr, graph::map_by_name},
      {"mlp", "mlp:784,512,512,10[:relu|tanh|gelu]", mlp_owns, make_mlp_family, mlp_candidates},
      {"torchvision", "tv:resnet18|34|50|101|152[:wN], tv:vgg11|13|16|19[_bn][:wN][:hM]", torchvision_owns, make_torchvision, torchvision_candidates, nullptr, conv_sizes},
      {"resnet", "resnet20xK[:ln], resnet18", resnet_owns, make_resnet, resnet_candidates, nullptr, conv_sizes},
      {"vgg", "vgg11|13|16|19[:bn], vgg:8,M,32,M,64[:bn]", vgg_owns, make_vgg, vgg_candidates, nullptr, conv_sizes},
      {"transformer", "vit:7,64,4,4,128, gpt:96,64,64,2,4", transformer_owns, make_transformer, nullptr, transformer_incomplete, transformer_sizes},
  };
  return table;
}

const ArchFamily* family_of(const std::string& arch) {
  for (const ArchFamily& f : arch_families())
    if (f.owns(arch)) return &f;
  return nullptr;
}

std::string arch_syntax() {
  std::string s;
  for (const ArchFamily& f : arch_families())
    if (f.name != "torchscript") s += f.syntax + ", ";
  return s + "or the path of a TorchScript model";
}

const at::Tensor* CheckpointView::find(const std::string& name) const {
  for (std::size_t k = 0; k < names.size(); ++k)
    if (names[k] == name) return &tensors[k].tensor;
  return nullptr;
}

std::vector<ModelIO> conv_sizes(const std::string&, const CheckpointView& c) {
  std::vector<ModelIO> out;
  const auto& first = c.tensors.front().tensor;
  const auto& last = c.tensors.back().tensor;
  if (first.dim() == 4 && last.dim() == 1)
    for (std::int64_t side : {28, 32, 64, 224, 16}) out.push_back({{first.size(1), side, side}, last.size(0)});
  return out;
}

}  // namespace rebasin::nn
