"""An MLP that applies its activations inside forward() with torch.nn.functional.

The flow reads the forward pass with torch.fx: each F.relu that consumes a
Linear's output and nothing else is fused into the accelerator's write-back.

    make sim PARTITIONS=2 MODEL=examples/functional_relu_mlp.py:build DATA=digits
"""

import math

import torch.nn.functional as F
from torch import nn


class FunctionalReluMLP(nn.Module):
    def __init__(self, input_shape=(1, 28, 28), num_classes=10, hidden=(48, 32)):
        super().__init__()
        self.fc1 = nn.Linear(math.prod(input_shape), hidden[0])
        self.fc2 = nn.Linear(hidden[0], hidden[1])
        self.out = nn.Linear(hidden[1], num_classes)

    def forward(self, x):
        h = F.relu(self.fc1(x.flatten(1)))
        h = self.fc2(h).relu()
        return self.out(h)


def build(input_shape=(1, 28, 28), num_classes=10):
    return FunctionalReluMLP(input_shape, num_classes)
