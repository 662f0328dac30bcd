"""sw.prune: every method as a torch.nn.utils.prune method, and model-level pruning."""

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn.utils import prune as torch_prune

from sw import models
from sw import prune as sw_prune
from sw.errors import PruningError

torch.set_num_threads(1)

METHODS = [
    ("magnitude", lambda m, d: sw_prune.magnitude(m, density=d)),
    ("group-rms", lambda m, d: sw_prune.group_rms(m, density=d, group_size=4)),
    ("simd", lambda m, d: sw_prune.simd(m, density=d, width=2)),
    ("node", lambda m, d: sw_prune.node(m, density=d)),
]


def _layer(seed, n_in=48, n_out=30):
    torch.manual_seed(seed)
    return nn.Linear(n_in, n_out)


@pytest.mark.parametrize("name,apply", METHODS)
@pytest.mark.parametrize("density", [0.5, 0.25, 0.1])
def test_density_method_then_remove(name, apply, density):
    seed = 42
    print(f"seed={seed}")
    layer = _layer(seed)
    x = torch.randn(5, 48)
    apply(layer, density)
    assert hasattr(layer, "weight_orig") and hasattr(layer, "weight_mask")
    kept = float((layer.weight != 0).double().mean())
    assert kept == pytest.approx(density, abs=1.0 / 30 if name == "node" else 0.01)
    y = layer(x)
    for tensor in ("weight", "bias"):
        if hasattr(layer, tensor + "_orig"):
            torch_prune.remove(layer, tensor)
    assert not hasattr(layer, "weight_orig") and not hasattr(layer, "weight_mask")
    assert isinstance(layer.weight, nn.Parameter)
    assert torch.allclose(layer(x), y)
    assert float((layer.weight != 0).double().mean()) == pytest.approx(kept)


def test_magnitude_keeps_the_largest():
    layer = _layer(0)
    w = layer.weight.detach().abs().clone()
    sw_prune.magnitude(layer, density=0.2)
    kept = w[layer.weight_mask.bool()]
    dropped = w[~layer.weight_mask.bool()]
    assert kept.min() >= dropped.max()


def test_group_rms_prunes_whole_aligned_groups():
    layer = _layer(1, n_in=32)
    sw_prune.group_rms(layer, density=0.25, group_size=8)
    groups = layer.weight_mask.reshape(30, 4, 8)
    assert torch.all((groups.sum(dim=2) == 0) | (groups.sum(dim=2) == 8))
    rms = layer.weight_orig.detach().reshape(30, 4, 8).pow(2).mean(dim=2).sqrt()
    alive = groups[:, :, 0].bool()
    assert rms[alive].min() >= rms[~alive].max()


def test_node_prunes_rows_and_bias():
    layer = _layer(2)
    sw_prune.node(layer, density=0.5)
    rows_alive = layer.weight.detach().abs().sum(dim=1) != 0
    assert int(rows_alive.sum()) == 15
    assert torch.all(layer.bias[~rows_alive] == 0)
    out = torch.relu(layer(torch.randn(4, 48)))
    assert torch.all(out[:, ~rows_alive] == 0)


def test_partition_as_torch_prune_method():
    layer = _layer(3)
    sw_prune.partition(layer, partitions=3, seed=0)
    plan = layer.partition_plan
    mask = layer.weight_mask.bool().numpy()
    assert np.array_equal(mask, plan.mask)
    assert np.array_equal(mask, plan.row_groups[:, None] == plan.col_groups[None, :])
    x = torch.randn(2, 48)
    expected = x @ (layer.weight_orig * layer.weight_mask).T + layer.bias
    assert torch.allclose(layer(x), expected)
    torch_prune.remove(layer, "weight")
    assert np.array_equal((layer.weight != 0).numpy(), plan.mask)


def test_repeated_pruning_prunes_more_and_never_regrows():
    layer = _layer(4)
    sw_prune.magnitude(layer, density=0.5)
    first = layer.weight_mask.clone()
    sw_prune.magnitude(layer, density=0.2)
    assert float(layer.weight_mask.mean()) == pytest.approx(0.2, abs=0.01)
    assert torch.all(layer.weight_mask <= first)
    sw_prune.partition(layer, partitions=2)
    assert torch.all(layer.weight_mask <= first)
    torch_prune.remove(layer, "weight")


def test_global_magnitude_uses_one_threshold():
    a, b = _layer(5, 20, 10), _layer(6, 10, 40)
    with torch.no_grad():
        b.weight.mul_(1.5)  # b has larger weights, so it should keep a larger share
    sw_prune.global_magnitude([(a, "weight"), (b, "weight")], density=0.3)
    kept = [(m.weight != 0).sum().item() for m in (a, b)]
    assert sum(kept) == round(0.3 * 600)
    assert kept[1] / 400 > kept[0] / 200
    w = torch.cat([m.weight_orig.detach().abs().reshape(-1) for m in (a, b)])
    keep = torch.cat([m.weight_mask.bool().reshape(-1) for m in (a, b)])
    smallest_kept, largest_dropped = w[keep].min(), w[~keep].max()
    assert smallest_kept >= largest_dropped


@pytest.mark.parametrize("method,kw", [("partition", {"partitions": 3}), ("magnitude", {"density": 0.3}),
                                       ("global-magnitude", {"density": 0.3}), ("node", {"density": 0.3}),
                                       ("group-rms", {"density": 0.3}), ("simd", {"density": 0.3})])
def test_model_level_prunes_all_fc_but_classifier(method, kw):
    torch.manual_seed(0)
    model = models.build("mlp8")
    info = sw_prune.prune_model(model, method, **kw)
    linears = models.linear_layers(model)
    assert list(info) == [name for name, _ in linears[:-1]]
    total = kept = 0
    for name, layer in linears[:-1]:
        assert hasattr(layer, "weight_mask"), name
        assert info[name]["density"] < 1.0
        total += layer.weight.numel()
        kept += int((layer.weight != 0).sum())
    assert kept / total == pytest.approx(kw.get("density", 1 / 3), abs=0.01)
    assert not hasattr(linears[-1][1], "weight_mask")
    sw_prune.remove_all(model)
    assert not any(hasattr(m, "weight_mask") for _, m in linears)


def test_any_module_with_linear_layers():
    class Custom(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3)
            self.body = nn.ModuleDict({"a": nn.Linear(16, 12), "b": nn.Linear(12, 9)})
            self.head = nn.Linear(9, 3)

        def forward(self, x):
            x = self.conv(x).mean(dim=(2, 3)).repeat(1, 4)
            return self.head(torch.relu(self.body["b"](torch.relu(self.body["a"](x)))))

    model = Custom()
    info = sw_prune.prune_model(model, "partition", partitions=3)
    assert list(info) == ["body.a", "body.b"]
    assert model(torch.randn(2, 1, 6, 6)).shape == (2, 3)


def test_model_errors_and_untouched_on_failure():
    with pytest.raises(PruningError, match="no nn.Linear"):
        sw_prune.prune_model(nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU()), "partition", partitions=2)
    with pytest.raises(PruningError, match="only one nn.Linear"):
        sw_prune.prune_model(nn.Sequential(nn.Linear(4, 3)), "magnitude", density=0.5)
    model = models.build("lenet300")
    with pytest.raises(PruningError, match="larger than"):
        sw_prune.prune_model(model, "partition", partitions=101)  # second layer has 100 rows
    assert not any(hasattr(m, "weight_mask") for _, m in models.linear_layers(model))
    with torch.no_grad():
        model.classifier[3].weight[0, 0] = float("nan")
    with pytest.raises(PruningError, match="NaN or Inf"):
        sw_prune.prune_model(model, "magnitude", density=0.5)
    assert not any(hasattr(m, "weight_mask") for _, m in models.linear_layers(model))
    for bad in (0, 1.5, float("nan")):
        with pytest.raises(PruningError, match="density"):
            sw_prune.prune_model(models.build("lenet300"), "magnitude", density=bad)
    with pytest.raises(PruningError, match="unknown pruning method"):
        sw_prune.prune_model(models.build("lenet300"), "random-stuff", density=0.5)


def test_partition_rejects_non_2d_weight():
    conv = nn.Conv2d(2, 4, 3)
    with pytest.raises(PruningError, match="2-D"):
        sw_prune.partition(conv, partitions=2)
    assert not hasattr(conv, "weight_orig")  # torch rolled back the reparametrisation


def test_iterative_prune_schedule():
    torch.manual_seed(0)
    model = models.build("lenet300")
    seen = []
    schedule = sw_prune.iterative_prune(model, "magnitude", density=0.125, steps=3,
                                        retrain=lambda m: seen.append(float(m.classifier[1].weight_mask.mean())))
    assert schedule == pytest.approx([0.5, 0.25, 0.125])
    assert seen == pytest.approx([0.5, 0.25, 0.125], abs=1e-3)
    with pytest.raises(PruningError):
        sw_prune.iterative_prune(model, "partition", density=0.5, steps=2, retrain=lambda m: None)
