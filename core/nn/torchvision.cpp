// torchvision's ImageNet families as they write their state dicts (names and order of
// torchvision.models.resnet / vgg), with optional reduced widths:
//   tv:resnet18|34|50|101|152[:wN]  ImageNet stem (conv1 7x7 stride 2, bn1, 3x3 max-pool), four
//       stages of BasicBlocks (18, 34) or Bottlenecks (50+; stride on the 3x3 conv as torchvision
//       v1.5), shortcut projections downsample.0 (1x1 conv) / downsample.1 (BN), global average
//       pool, fc. N: the stem's width and stage 1's planes (default 64; stages N, 2N, 4N, 8N).
//   tv:vgg11|13|16|19[_bn][:wN][:hM]  features.N (3x3 convs with bias, BN, ReLU, 2x2 pools),
//       adaptive average pool to 7x7, classifier.0/3/6 (Linear-ReLU-Dropout twice, Linear). N: the
//       first conv's width (default 64, the others scale alike), M: the classifier's hidden
//       width (default 4096). Dropout is not applied (the evaluation-mode function).
// Input channels and the number of outputs come from the ModelIO (the data, or the checkpoint
// under --arch auto); any image size works for the ResNets, at least 32x32 for the VGGs.
// Groups: ResNets - one per residual stream (stream0 for the stem, streamS for stage S where
// its first block projects; BasicBlock stages keep stage 1 on the stem's stream) shared by
// every layer writing into it, plus each block's inner convs (conv1; conv1 and conv2 for a
// Bottleneck). VGGs - every conv's output channels and both hidden classifier layers (the
// first sees the last conv through the 7x7 pool and Flatten: inner block 49).
#include <ATen/ATen.h>

#include <algorithm>

#include "common/error.h"
#include "common/parse.h"
#include "nn/architecture_internal.h"
#include "nn/family_registry.h"

namespace rebasin::nn {
namespace {

struct TvBlock {
  std::string pre;             // "layer2.0"
  std::int64_t stride = 1;
  bool project = false;
  std::vector<int> inner;      // groups of the inner convs' outputs
  int stream = -1;             // the residual stream the block writes
};

class TvResNet : public Architecture {
 public:
  TvResNet(std::string name, const ModelIO& io, std::vector<int> layers, bool bottleneck, std::int64_t width)
      : Architecture(std::move(name), io), bottleneck_(bottleneck) {
    require(io.input_shape.size() == 3, "architecture '" + name_ + "' needs image inputs (C x H x W)");
    const std::int64_t expansion = bottleneck ? 4 : 1;
    stem_ = spec_.add_group("stream0", width);
    add_conv(spec_, "conv1", io.input_shape[0], width, 7, -1, stem_, false);
    add_batchnorm(spec_, "bn1", width, stem_);
    int stream = stem_;
    std::int64_t inplanes = width;
    for (std::size_t s = 0; s < layers.size(); ++s) {
      const std::int64_t planes = width << s, out = planes * expansion;
      for (int b = 0; b < layers[s]; ++b) {
        TvBlock k;
        k.pre = "layer" + std::to_string(s + 1) + "." + std::to_string(b);
        k.stride = (b == 0 && s > 0) ? 2 : 1;
        k.project = b == 0 && (k.stride != 1 || inplanes != out);
        const int in_stream = stream;
        if (k.project) stream = spec_.add_group("stream" + std::to_string(s + 1), out);
        k.stream = stream;
        const std::string& p = k.pre;
        if (!bottleneck) {
          k.inner.push_back(spec_.add_group(p + ".conv1", planes));
          add_conv(spec_, p + ".conv1", inplanes, planes, 3, in_stream, k.inner[0], false);
          add_batchnorm(spec_, p + ".bn1", planes, k.inner[0]);
          add_conv(spec_, p + ".conv2", planes, planes, 3, k.inner[0], stream, false);
          add_batchnorm(spec_, p + ".bn2", planes, stream);
        } else {
          k.inner.push_back(spec_.add_group(p + ".conv1", planes));
          k.inner.push_back(spec_.add_group(p + ".conv2", planes));
          add_conv(spec_, p + ".conv1", inplanes, planes, 1, in_stream, k.inner[0], false);
          add_batchnorm(spec_, p + ".bn1", planes, k.inner[0]);
          add_conv(spec_, p + ".conv2", planes, planes, 3, k.inner[0], k.inner[1], false);
          add_batchnorm(spec_, p + ".bn2", planes, k.inner[1]);
          add_conv(spec_, p + ".conv3", planes, out, 1, k.inner[1], stream, false);
          add_batchnorm(spec_, p + ".bn3", out, stream);
        }
        if (k.project) {
          add_conv(spec_, p + ".downsample.0", inplanes, out, 1, in_stream, stream, false);
          add_batchnorm(spec_, p + ".downsample.1", out, stream);
        }
        blocks_.push_back(std::move(k));
        inplanes = out;
      }
    }
    add_linear(spec_, "fc", inplanes, io.outputs, stream, -1);
    spec_.validate();
  }

 protected:
  at::Tensor run(const Params& p, const at::Tensor& x, bool train, const ActivationHook* hook) const override {
    auto report = [&](int group, const at::Tensor& act) {
      if (hook) (*hook)(group, act);
    };
    at::Tensor h = at::conv2d(x, p("conv1.weight"), at::Tensor(), {2, 2}, {3, 3});
    h = at::relu(batchnorm(p, "bn1", h, train));
    h = at::max_pool2d(h, {3, 3}, {2, 2}, {1, 1});
    report(stem_, h);
    for (const TvBlock& k : blocks_) {
      const std::string& pre = k.pre;
      const std::int64_t s = k.stride;
      at::Tensor m;
      if (!bottleneck_) {
        m = at::conv2d(h, p(pre + ".conv1.weight"), at::Tensor(), {s, s}, {1, 1});
        m = at::relu(batchnorm(p, pre + ".bn1", m, train));
        report(k.inner[0], m);
        m = at::conv2d(m, p(pre + ".conv2.weight"), at::Tensor(), {1, 1}, {1, 1});
        m = batchnorm(p, pre + ".bn2", m, train);
      } else {
        m = at::conv2d(h, p(pre + ".conv1.weight"));
        m = at::relu(batchnorm(p, pre + ".bn1", m, train));
        report(k.inner[0], m);
        m = at::conv2d(m, p(pre + ".conv2.weight"), at::Tensor(), {s, s}, {1, 1});
        m = at::relu(batchnorm(p, pre + ".bn2", m, train));
        report(k.inner[1], m);
        m = at::conv2d(m, p(pre + ".conv3.weight"));
        m = batchnorm(p, pre + ".bn3", m, train);
      }
      at::Tensor shortcut = h;
      if (k.project) {
        shortcut = at::conv2d(h, p(pre + ".downsample.0.weight"), at::Tensor(), at::IntArrayRef({s, s}));
        shortcut = batchnorm(p, pre + ".downsample.1", shortcut, train);
      }
      h = at::relu(m + shortcut);
      report(k.stream, h);
    }
    h = at::adaptive_avg_pool2d(h, {1, 1}).flatten(1);
    return at::linear(h, p("fc.weight"), p("fc.bias"));
  }

 private:
  bool bottleneck_;
  int stem_ = 0;
  std::vector<TvBlock> blocks_;
};

constexpr std::int64_t kPool = -1;

class TvVgg : public Architecture {
 public:
  TvVgg(std::string name, const ModelIO& io, std::vector<std::int64_t> cfg, bool bn, std::int64_t hidden)
      : Architecture(std::move(name), io), cfg_(std::move(cfg)), bn_(bn) {
    require(io.input_shape.size() == 3, "architecture '" + name_ + "' needs image inputs (C x H x W)");
    require(io.input_shape[1] >= 32 && io.input_shape[2] >= 32,
            "architecture '" + name_ + "' needs images of at least 32x32 (five 2x2 max-pools), not " +
                std::to_string(io.input_shape[1]) + "x" + std::to_string(io.input_shape[2]));
    std::int64_t c = io.input_shape[0];
    int prev = -1, index = 0;
    for (std::int64_t v : cfg_) {
      if (v == kPool) {
        index += 1;
        continue;
      }
      const std::string conv = "features." + std::to_string(index);
      const int g = spec_.add_group(conv, v);
      add_conv(spec_, conv, c, v, 3, prev, g, true);
      if (bn_) add_batchnorm(spec_, "features." + std::to_string(index + 1), v, g);
      index += bn_ ? 3 : 2;
      prev = g;
      c = v;
    }
    const int h1 = spec_.add_group("classifier.0", hidden);
    add_linear(spec_, "classifier.0", c * 49, hidden, prev, h1, 49);
    const int h2 = spec_.add_group("classifier.3", hidden);
    add_linear(spec_, "classifier.3", hidden, hidden, h1, h2);
    add_linear(spec_, "classifier.6", hidden, io.outputs, h2, -1);
    spec_.validate();
  }

 protected:
  at::Tensor run(const Params& p, const at::Tensor& x, bool train, const ActivationHook* hook) const override {
    at::Tensor h = x;
    int index = 0, group = 0;
    for (std::int64_t v : cfg_) {
      if (v == kPool) {
        h = at::max_pool2d(h, {2, 2}, {2, 2});
        index += 1;
        continue;
      }
      const std::string conv = "features." + std::to_string(index);
      h = at::conv2d(h, p(conv + ".weight"), p(conv + ".bias"), {1, 1}, {1, 1});
      if (bn_) h = batchnorm(p, "features." + std::to_string(index + 1), h, train);
      h = at::relu(h);
      if (hook) (*hook)(group, h);
      ++group;
      index += bn_ ? 3 : 2;
    }
    h = at::adaptive_avg_pool2d(h, {7, 7}).flatten(1);
    h = at::relu(at::linear(h, p("classifier.0.weight"), p("classifier.0.bias")));
    if (hook) (*hook)(group, h);
    h = at::relu(at::linear(h, p("classifier.3.weight"), p("classifier.3.bias")));
    if (hook) (*hook)(group + 1, h);
    return at::linear(h, p("classifier.6.weight"), p("classifier.6.bias"));
  }

 private:
  std::vector<std::int64_t> cfg_;
  bool bn_;
};

const char* kGrammar =
    "tv:resnet18|34|50|101|152[:wN] or tv:vgg11|13|16|19[_bn][:wN][:hM]";

// Splits "tv:NAME:wN:hM" into NAME and its options; `allowed` lists the option letters.
std::string parse_options(const std::string& arch, const std::string& allowed, std::int64_t* w, std::int64_t* h) {
  std::string rest = arch.substr(3);
  const auto colon = rest.find(':');
  const std::string base = rest.substr(0, colon);
  std::size_t last = 0;  // options in the order of `allowed`, each at most once
  std::size_t at = colon;
  while (at != std::string::npos) {
    const auto next = rest.find(':', at + 1);
    const std::string opt = rest.substr(at + 1, next == std::string::npos ? std::string::npos : next - at - 1);
    const std::size_t rank = opt.empty() ? std::string::npos : allowed.find(opt[0]);
    require(opt.size() >= 2 && rank != std::string::npos && rank + 1 > last,
            "architecture '" + arch + "': unknown or misplaced option '" + opt + "' (" + kGrammar + ")");
    const auto v = parse_int(opt.substr(1), 1, 1 << 16);
    require(v.has_value(), "architecture '" + arch + "': '" + opt + "' needs a positive integer");
    (opt[0] == 'w' ? *w : *h) = *v;
    last = rank + 1;
    at = next;
  }
  return base;
}

}  // namespace

std::unique_ptr<Architecture> make_torchvision(const std::string& arch, const ModelIO& io) {
  std::int64_t w = 64, h = 4096;
  const bool is_vgg = arch.rfind("tv:vgg", 0) == 0;
  const std::string base = parse_options(arch, is_vgg ? "wh" : "w", &w, &h);
  if (!is_vgg) {
    std::vector<int> layers;
    bool bottleneck = true;
    if (base == "resnet18") layers = {2, 2, 2, 2}, bottleneck = false;
    else if (base == "resnet34") layers = {3, 4, 6, 3}, bottleneck = false;
    else if (base == "resnet50") layers = {3, 4, 6, 3};
    else if (base == "resnet101") layers = {3, 4, 23, 3};
    else if (base == "resnet152") layers = {3, 8, 36, 3};
    else throw UserError("unknown architecture '" + arch + "' (torchvision: " + kGrammar + ")");
    const std::string name = "tv:" + base + (w != 64 ? ":w" + std::to_string(w) : "");
    return std::make_unique<TvResNet>(name, io, layers, bottleneck, w);
  }
  std::string depth = base.substr(3);
  const bool bn = depth.size() > 3 && depth.compare(depth.size() - 3, 3, "_bn") == 0;
  if (bn) depth.resize(depth.size() - 3);
  std::vector<std::int64_t> cfg;
  const std::int64_t M = kPool;
  if (depth == "11") cfg = {64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M};
  else if (depth == "13") cfg = {64, 64, M, 128, 128, M, 256, 256, M, 512, 512, M, 512, 512, M};
  else if (depth == "16") cfg = {64, 64, M, 128, 128, M, 256, 256, 256, M, 512, 512, 512, M, 512, 512, 512, M};
  else if (depth == "19") cfg = {64, 64, M, 128, 128, M, 256, 256, 256, 256, M, 512, 512, 512, 512, M, 512, 512, 512, 512, M};
  else throw UserError("unknown architecture '" + arch + "' (torchvision: " + kGrammar + ")");
  for (auto& v : cfg)
    if (v != kPool) v = v * w / 64;
  const std::string name = "tv:" + base + (w != 64 ? ":w" + std::to_string(w) : "") +
                           (h != 4096 ? ":h" + std::to_string(h) : "");
  return std::make_unique<TvVgg>(name, io, cfg, bn, h);
}

// The torchvision family (family_registry.h).
bool torchvision_owns(const std::string& arch) { return arch.rfind("tv:", 0) == 0; }

// The first conv and the classifier by their torchvision names where the checkpoint has them
// (any order, e.g. a sorted safetensors file), else first and last; the image size is the data's
// (224 without data).
void torchvision_candidates(const CheckpointView& c, const ModelIO& io, ArchCandidates& out) {
  const NamedTensors& s = c.tensors;
  const std::int64_t side_h = io.input_shape.size() == 3 ? io.input_shape[1] : 224;
  const std::int64_t side_w = io.input_shape.size() == 3 ? io.input_shape[2] : 224;
  {
    const at::Tensor* conv = c.find("conv1.weight");
    const at::Tensor* fc = c.find("fc.bias");
    if (!conv) conv = &s.front().tensor;
    if (!fc) fc = &s.back().tensor;
    if (conv->dim() == 4 && conv->size(2) == 7 && conv->size(3) == 7 && fc->dim() == 1) {
      const std::string w = conv->size(0) == 64 ? "" : ":w" + std::to_string(conv->size(0));
      const ModelIO tio{{conv->size(1), side_h, side_w}, fc->size(0)};
      for (const char* d : {"18", "34", "50", "101", "152"}) out.push_back({std::string("tv:resnet") + d + w, tio});
    }
  }
  const at::Tensor* conv = c.find("features.0.weight");
  const at::Tensor* head = c.find("classifier.6.bias");
  const at::Tensor* hidden = c.find("classifier.3.bias");
  if (!conv) conv = &s.front().tensor;
  if (!head) head = &s.back().tensor;
  if (!hidden && s.size() >= 2) hidden = &s[s.size() - 2].tensor;  // the last weight: classes x hidden
  const std::int64_t h = !hidden ? 0 : hidden->dim() == 1 ? hidden->size(0) : hidden->dim() == 2 ? hidden->size(1) : 0;
  if (conv->dim() == 4 && conv->size(2) == 3 && conv->size(3) == 3 && head->dim() == 1 && h > 0) {
    const std::string opts = (conv->size(0) == 64 ? "" : ":w" + std::to_string(conv->size(0))) +
                             (h == 4096 ? "" : ":h" + std::to_string(h));
    const ModelIO tio{{conv->size(1), std::max<std::int64_t>(side_h, 32), std::max<std::int64_t>(side_w, 32)},
                      head->size(0)};
    for (const char* d : {"11", "13", "16", "19"})
      for (const char* bn : {"", "_bn"}) out.push_back({std::string("tv:vgg") + d + bn + opts, tio});
  }
}

}  // namespace rebasin::nn
