"""torchvision model fixtures (imported by make_fixtures.py --models): ResNet-18, ResNet-50 and
VGG-11 (with and without BatchNorm) built from torchvision's own classes at reduced widths, each
saved in the forms users have: a plain state dict (torch.save(model.state_dict())), a DDP one
(every name prefixed "module.") and a Lightning-like checkpoint ({"state_dict": {"model.<name>":
...}, "epoch": ...}). Next to each model, <name>_io.pt holds a fixed input batch and torchvision's
output for it (eval mode), so the C++ forward is checked against torchvision itself.

Reduced widths keep the files small: torchvision's ResNet constructor hard-codes 64..512 and
VGG's classifier 4096, so the layers are rebuilt with torchvision's own _make_layer /
make_layers at the smaller width (names, order and structure exactly as torchvision writes
them)."""
import collections
import os

import torch
from torchvision.models import resnet as tvr
from torchvision.models import vgg as tvv

CLASSES = 10
INPUT = [3, 32, 32]


def narrow_resnet(block, layers, width):
    m = tvr.ResNet(block, layers, num_classes=CLASSES)
    m.inplanes = width
    m.conv1 = torch.nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
    m.bn1 = torch.nn.BatchNorm2d(width)
    m.layer1 = m._make_layer(block, width, layers[0])
    m.layer2 = m._make_layer(block, 2 * width, layers[1], stride=2)
    m.layer3 = m._make_layer(block, 4 * width, layers[2], stride=2)
    m.layer4 = m._make_layer(block, 8 * width, layers[3], stride=2)
    m.fc = torch.nn.Linear(8 * width * block.expansion, CLASSES)
    return m


def narrow_vgg(cfg, batch_norm, width, hidden):
    scaled = [v if v == "M" else v * width // 64 for v in tvv.cfgs[cfg]]
    m = tvv.VGG(tvv.make_layers(scaled, batch_norm=batch_norm), num_classes=CLASSES)
    last = [v for v in scaled if v != "M"][-1]
    m.classifier = torch.nn.Sequential(
        torch.nn.Linear(last * 7 * 7, hidden), torch.nn.ReLU(True), torch.nn.Dropout(),
        torch.nn.Linear(hidden, hidden), torch.nn.ReLU(True), torch.nn.Dropout(),
        torch.nn.Linear(hidden, CLASSES))
    return m


def settle(m):
    """Non-trivial BatchNorm affines and running statistics (as a trained model has), so every
    tensor carries information about its units' order."""
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.2, 0.2)
    m.train()
    with torch.no_grad():
        for _ in range(2):
            m(torch.randn(8, *INPUT))
    m.eval()
    return m


def write(out):
    models = [
        # name, model, the ARCH string --arch auto must find, groups, sizes
        ("tv_resnet18", narrow_resnet(tvr.BasicBlock, [2, 2, 2, 2], 8), "tv:resnet18:w8", 12),
        ("tv_resnet50", narrow_resnet(tvr.Bottleneck, [3, 4, 6, 3], 8), "tv:resnet50:w8", 5 + 2 * 16),
        ("tv_vgg11_bn", narrow_vgg("A", True, 8, 32), "tv:vgg11_bn:w8:h32", 8 + 2),
        ("tv_vgg11", narrow_vgg("A", False, 8, 32), "tv:vgg11:w8:h32", 8 + 2),
    ]
    manifest = {}
    for name, model, arch, groups in models:
        settle(model)
        sd = model.state_dict()
        forms = {
            "plain": (name + ".pt", sd),
            "ddp": (name + "_ddp.pth", collections.OrderedDict(("module." + k, v) for k, v in sd.items())),
            "lightning": (name + "_lightning.ckpt", {
                "epoch": 4, "global_step": 100, "pytorch-lightning_version": "1.9.0",
                "state_dict": collections.OrderedDict(("model." + k, v) for k, v in sd.items()),
                "hyper_parameters": {"lr": 0.1, "arch": name}}),
        }
        for form, (file, obj) in forms.items():
            torch.save(obj, os.path.join(out, file))
        x = torch.randn(4, *INPUT)
        with torch.no_grad():
            y = model(x)
        torch.save(collections.OrderedDict([("input", x), ("output", y)]), os.path.join(out, name + "_io.pt"))
        manifest[name] = {
            "arch": arch,
            "groups": groups,
            "forms": {form: file for form, (file, _) in forms.items()},
            "io": name + "_io.pt",
            "input": INPUT,
            "classes": CLASSES,
            "tensors": len(sd),
            "parameters": sum(p.numel() for p in model.parameters()),
        }
    return manifest
