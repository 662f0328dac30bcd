"""sw.models: the networks of Partition Pruning and of the related pruning papers."""

import inspect

import pytest
import torch

from sw import models
from sw.errors import PruningError

torch.set_num_threads(1)


@pytest.mark.parametrize("name,shape,fcs", [
    ("lenet300", (1, 28, 28), [(300, 784), (100, 300), (10, 100)]),
    ("lenet5", (1, 28, 28), [(120, 400), (84, 120), (10, 84)]),
    ("mlp8", (1, 28, 28), [(128, 784), (128, 128), (256, 128), (256, 256), (512, 256), (512, 512), (10, 512)]),
])
def test_small_models(name, shape, fcs):
    model = models.build(name)
    assert [tuple(m.weight.shape) for _, m in models.linear_layers(model)] == fcs
    assert model(torch.zeros(2, *shape)).shape == (2, 10)


@pytest.mark.parametrize("name", ["tinyvgg16", "tinyalexnet"])
def test_tiny_imagenet_models(name):
    cls = models.MODELS[name]
    params = inspect.signature(cls).parameters
    assert params["input_shape"].default == (3, 56, 56) and params["num_classes"].default == 200
    assert params["fc"].default == 4096
    model = models.build(name, fc=64)
    fcs = models.linear_layers(model)
    assert len(fcs) == 3 and fcs[-1][1].out_features == 200 and fcs[1][1].weight.shape == (64, 64)
    model.eval()
    assert model(torch.zeros(1, 3, 56, 56)).shape == (1, 200)


def test_models_adapt_to_the_data_shape():
    assert models.build("lenet300", (1, 8, 8), 10)(torch.zeros(3, 1, 8, 8)).shape == (3, 10)
    assert models.build("lenet5", (1, 8, 8), 4)(torch.zeros(3, 1, 8, 8)).shape == (3, 4)
    with pytest.raises(PruningError, match="unknown model"):
        models.build("resnet")
