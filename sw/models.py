"""The networks of Partition Pruning (Shahhosseini et al.) and of the related pruning
papers, as plain torch.nn modules.

Each model ends in three or more nn.Linear layers; the last one is the classifier,
which `sw.prune.prune_model` leaves dense. Nothing here is special to pruning: any
nn.Module with Linear layers can be pruned the same way.

* `TinyVGG16`, `TinyAlexNet` (Partition Pruning, Shahhosseini et al.): 56x56x3 input, three FC layers, 200 classes.
  The paper does not list layer widths; we keep the originals' conv stacks and their
  4096-4096-classes FC head (`fc` sets the width), with an adaptive pool in between.
* `LeNet300100` (pruned in Han et al., "Learning both Weights and Connections"):
  784-300-100-10 MLP.
* `LeNet5` (pruned in Han et al. and in Scalpel, Yu et al.): 6c5-16c5-120-84-10 on
  28x28 (LeCun et al. 1998, padded).
* `MLP8` (Hartenstein et al., "Weight Pruning for Deep Neural Networks on GPUs", Table 2): 784-128-128-256-256-512-512-10, the "eight layer" net
  (eight layers of neurons, seven weight matrices).
"""

from __future__ import annotations

import math

from torch import nn

from .errors import PruningError


def _mlp(sizes: list[int]) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for k, (a, b) in enumerate(zip(sizes, sizes[1:])):
        layers.append(nn.Linear(a, b))
        if k < len(sizes) - 2:
            layers.append(nn.ReLU())
    return layers


class LeNet300100(nn.Module):
    def __init__(self, input_shape=(1, 28, 28), num_classes: int = 10):
        super().__init__()
        self.classifier = nn.Sequential(nn.Flatten(), *_mlp([math.prod(input_shape), 300, 100, num_classes]))

    def forward(self, x):
        return self.classifier(x)


class MLP8(nn.Module):
    def __init__(self, input_shape=(1, 28, 28), num_classes: int = 10):
        super().__init__()
        sizes = [math.prod(input_shape), 128, 128, 256, 256, 512, 512, num_classes]
        self.classifier = nn.Sequential(nn.Flatten(), *_mlp(sizes))

    def forward(self, x):
        return self.classifier(x)


class LeNet5(nn.Module):
    def __init__(self, input_shape=(1, 28, 28), num_classes: int = 10):
        super().__init__()
        c = input_shape[0]
        self.features = nn.Sequential(
            nn.Conv2d(c, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5, padding=2), nn.ReLU(), nn.AdaptiveMaxPool2d(5))
        self.classifier = nn.Sequential(nn.Flatten(), *_mlp([16 * 5 * 5, 120, 84, num_classes]))

    def forward(self, x):
        return self.classifier(self.features(x))


def _conv_stack(cfg, in_channels: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(2))
        else:
            layers += [nn.Conv2d(in_channels, v, 3, padding=1), nn.BatchNorm2d(v), nn.ReLU(inplace=True)]
            in_channels = v
    return nn.Sequential(*layers)


class TinyVGG16(nn.Module):
    """VGG16's 13 conv layers (with batch norm) on 56x56 images: four pools give 3x3
    maps (56->28->14->7->3), then FC fc-fc-classes with dropout, as VGG16."""

    CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512]

    def __init__(self, input_shape=(3, 56, 56), num_classes: int = 200, fc: int = 4096, width: float = 1.0):
        super().__init__()
        cfg = [v if v == "M" else max(1, int(v * width)) for v in self.CFG]
        self.features = nn.Sequential(_conv_stack(cfg, input_shape[0]), nn.AdaptiveAvgPool2d(3))
        flat = cfg[-1] * 9
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(flat, fc), nn.ReLU(inplace=True), nn.Dropout(0.5),
            nn.Linear(fc, fc), nn.ReLU(inplace=True), nn.Dropout(0.5), nn.Linear(fc, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x))


class TinyAlexNet(nn.Module):
    """AlexNet's five conv layers scaled to 56x56 inputs (stride-1 first layer so the
    maps survive three pools: 56->27->13->6), then FC fc-fc-classes with dropout."""

    def __init__(self, input_shape=(3, 56, 56), num_classes: int = 200, fc: int = 4096):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(input_shape[0], 64, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
            nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
            nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
            nn.AdaptiveAvgPool2d(6))
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Dropout(0.5), nn.Linear(256 * 36, fc), nn.ReLU(inplace=True),
            nn.Dropout(0.5), nn.Linear(fc, fc), nn.ReLU(inplace=True), nn.Linear(fc, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x))


MODELS = {
    "lenet300": LeNet300100,
    "lenet5": LeNet5,
    "mlp8": MLP8,
    "tinyvgg16": TinyVGG16,
    "tinyalexnet": TinyAlexNet,
}


def build(name: str, input_shape=None, num_classes: int | None = None, **kwargs) -> nn.Module:
    """Build a model by name for a data set's input shape and class count.

    With no shape or class count, each model gets its paper's defaults."""
    if name not in MODELS:
        raise PruningError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    if input_shape is not None:
        kwargs["input_shape"] = tuple(input_shape)
    if num_classes is not None:
        kwargs["num_classes"] = num_classes
    return MODELS[name](**kwargs)


def linear_layers(model: nn.Module) -> list[tuple[str, nn.Linear]]:
    """All nn.Linear layers in registration order."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Linear)]
