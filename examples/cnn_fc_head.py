"""A small CNN: convolutions on the host, an FC head on the accelerators.

The head has a bias-free layer, dropout (an identity in eval mode, looked
through when fusing) and an in-place ReLU.

    make sim PARTITIONS=2 MODEL=examples/cnn_fc_head.py:build DATA=digits
"""

from torch import nn


class SmallCNN(nn.Module):
    def __init__(self, input_shape=(1, 28, 28), num_classes=10):
        super().__init__()
        channels = input_shape[0]
        self.features = nn.Sequential(
            nn.Conv2d(channels, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(3))
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(8 * 3 * 3, 32, bias=False), nn.Dropout(0.1), nn.ReLU(inplace=True),
            nn.Linear(32, 24), nn.ReLU(), nn.Linear(24, num_classes))

    def forward(self, x):
        return self.head(self.features(x))


def build(input_shape=(1, 28, 28), num_classes=10):
    return SmallCNN(input_shape, num_classes)
