"""A residual MLP with GELU and LayerNorm: Linear layers that do not form a chain.

fc_a's output goes through GELU (host) into fc_b, whose output is added to
the block's input (host) and normalised (host) before the classifier.  Each
Linear runs on the accelerators with the input torch's forward pass gives it;
the host's work between them is charged at the bus bandwidth.

    make sim PARTITIONS=2 MODEL=examples/residual_gelu_mlp.py:build DATA=digits
"""

import math

import torch.nn.functional as F
from torch import nn


class ResidualGeluMLP(nn.Module):
    def __init__(self, input_shape=(1, 28, 28), num_classes=10, width=32):
        super().__init__()
        self.embed = nn.Linear(math.prod(input_shape), width)
        self.fc_a = nn.Linear(width, 2 * width)
        self.fc_b = nn.Linear(2 * width, width)
        self.norm = nn.LayerNorm(width)
        self.classifier = nn.Linear(width, num_classes)

    def forward(self, x):
        h = F.relu(self.embed(x.flatten(1)))
        h = self.norm(h + self.fc_b(F.gelu(self.fc_a(h))))
        return self.classifier(h)


def build(input_shape=(1, 28, 28), num_classes=10):
    return ResidualGeluMLP(input_shape, num_classes)
