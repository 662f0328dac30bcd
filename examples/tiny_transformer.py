"""A tiny transformer encoder (a few thousand parameters) over the rows of an image.

Each image row is a token.  Every projection (embedding, query, key, value,
output, the feed-forward pair and the classifier) is an nn.Linear module, so
all of them run on the accelerators, on batch x tokens vectors; attention's
softmax, GELU, LayerNorm, the residual adds and the mean over tokens run on
the host in torch.  (torch's nn.MultiheadAttention calls its projections
functionally, so the flow could not run them: this model writes attention
out.)

    make sim PARTITIONS=2 MODEL=examples/tiny_transformer.py:build DATA=digits
"""

import math

import torch
import torch.nn.functional as F
from torch import nn


class TinyTransformer(nn.Module):
    def __init__(self, input_shape=(1, 28, 28), num_classes=10, dim=16, heads=2, hidden=32):
        super().__init__()
        channels, rows, cols = input_shape
        self.heads = heads
        self.embed = nn.Linear(channels * cols, dim)
        self.position = nn.Parameter(torch.zeros(rows, dim))
        self.norm1 = nn.LayerNorm(dim)
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(dim, dim)
        self.value = nn.Linear(dim, dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.ff1 = nn.Linear(dim, hidden)
        self.ff2 = nn.Linear(hidden, dim)
        self.classifier = nn.Linear(dim, num_classes)

    def _split(self, t):
        b, n, d = t.shape
        return t.view(b, n, self.heads, d // self.heads).transpose(1, 2)

    def forward(self, x):
        tokens = x.permute(0, 2, 1, 3).flatten(2)               # (batch, rows, channels * cols)
        h = self.embed(tokens) + self.position
        a = self.norm1(h)
        q, k, v = self._split(self.query(a)), self._split(self.key(a)), self._split(self.value(a))
        weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-1)
        h = h + self.proj((weights @ v).transpose(1, 2).flatten(2))
        h = h + self.ff2(F.gelu(self.ff1(self.norm2(h))))
        return self.classifier(h.mean(dim=1))


def build(input_shape=(1, 28, 28), num_classes=10):
    return TinyTransformer(input_shape, num_classes)
