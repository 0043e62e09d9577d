#!/usr/bin/python3
"""Writes a full-size torchvision ResNet-18 pair for the weight-matching benchmark of
docs/benchmarks.md: OUT/resnet18_a.pt and OUT/resnet18_b.pt, torch.save(model.state_dict()) of
torchvision.models.resnet18() (1000 classes, 11.7M parameters, 45 MB each) at seeds 1 and 2, and
OUT/resnet18_a_ddp.pth, A's state dict under DDP's "module." names. Nothing is committed.

Usage: /usr/bin/python3 bench/tv_resnet18_pair.py [OUT]   (default /tmp/rebasin-tv-bench)"""
import collections
import os
import sys

import torch
import torchvision

out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/rebasin-tv-bench"
os.makedirs(out, exist_ok=True)
for seed, name in ((1, "a"), (2, "b")):
    torch.manual_seed(seed)
    sd = torchvision.models.resnet18().state_dict()
    torch.save(sd, os.path.join(out, "resnet18_%s.pt" % name))
    if name == "a":
        torch.save(collections.OrderedDict(("module." + k, v) for k, v in sd.items()),
                   os.path.join(out, "resnet18_a_ddp.pth"))
print(out)
