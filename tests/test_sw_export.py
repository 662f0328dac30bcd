"""sw.export: the plan file the simulator reads, written and read back."""

import json

import numpy as np
import pytest
import torch

from sw import export, models
from sw import prune as sw_prune
from sw.errors import PruningError

torch.set_num_threads(1)


def _pruned_model(P=3, seed=0):
    torch.manual_seed(seed)
    model = models.build("lenet300")
    baseline = models.build("lenet300")
    baseline.load_state_dict(model.state_dict())
    sw_prune.prune_model(model, "partition", partitions=P, seed=seed)
    return model, baseline


def test_round_trip_blocks_equal_masked_matmul(tmp_path):
    seed = 0
    print(f"seed={seed}")
    model, baseline = _pruned_model()
    x = torch.rand(4, 1, 28, 28)
    plans = export.layer_plans(model, inputs=x, baseline=baseline)
    path = export.write(tmp_path / "plan", plans, {"model": "lenet300", "partitions": 3})
    assert path.name == "plan.json" and (tmp_path / "plan" / "plan.npz").is_file()
    assert sorted(p.name for p in (tmp_path / "plan").iterdir()) == ["plan.json", "plan.npz"]
    manifest, layers = export.read(tmp_path / "plan")
    assert manifest["format"] == "partition-plan" and manifest["version"] == 1
    assert [entry["name"] for entry in manifest["layers"]] == ["classifier.1", "classifier.3"]
    assert [lp.activation for lp in layers] == ["relu", "relu"]
    modules = dict(model.named_modules())
    for lp, entry in zip(layers, manifest["layers"]):
        layer = modules[lp.name]
        W = layer.weight.detach().numpy()
        assert lp.partitions == 3 and lp.shape == W.shape
        assert np.array_equal(lp.mask(), layer.partition_plan.mask)
        inputs = lp.inputs
        assert inputs.shape == (4, W.shape[1])
        # blocks times gathered inputs, scattered, equals the masked dense matmul
        y = np.zeros((4, W.shape[0]), np.float32)
        with np.load(tmp_path / "plan" / "plan.npz") as f:
            k = entry["index"]
            for p in range(lp.partitions):
                g, s = f[f"L{k}.b{p}.gather"], f[f"L{k}.b{p}.scatter"]
                y[:, s] = inputs[:, g] @ f[f"L{k}.b{p}.weight"].T + f[f"L{k}.bias"][s]
        dense = inputs @ W.T + layer.bias.detach().numpy()
        assert np.allclose(y, dense, atol=1e-5)
        assert np.allclose(lp.forward(inputs), dense, atol=1e-5)
        torch_out = layer(torch.from_numpy(inputs)).detach().numpy()
        assert np.allclose(y, torch_out, atol=1e-5)
        assert np.array_equal(lp.dense, dict(baseline.named_modules())[lp.name].weight.detach().numpy())
        assert sum(b["rows"] * b["cols"] for b in entry["blocks"]) == int(lp.mask().sum())


def test_scatter_covers_every_output_once():
    model, _ = _pruned_model(P=4)
    for lp in export.layer_plans(model):
        outs = np.concatenate([lp.scatter(p) for p in range(lp.partitions)])
        ins = np.concatenate([lp.gather(p) for p in range(lp.partitions)])
        assert np.array_equal(np.sort(outs), np.arange(lp.shape[0]))
        assert np.array_equal(np.sort(ins), np.arange(lp.shape[1]))


def test_manifest_is_plain_json(tmp_path):
    model, _ = _pruned_model(P=2)
    export.write(tmp_path, export.layer_plans(model), {"accuracy": {"baseline": {"top1": 1.0}}})
    data = json.loads((tmp_path / "plan.json").read_text())
    assert data["layers"][0]["blocks"][0]["rows"] == 150
    assert data["accuracy"]["baseline"]["top1"] == 1.0


def test_errors_write_nothing(tmp_path):
    torch.manual_seed(0)
    model = models.build("lenet300")
    sw_prune.prune_model(model, "magnitude", density=0.3)
    with pytest.raises(PruningError, match="no partition-pruned layer"):
        export.write(tmp_path / "out", export.layer_plans(model))
    assert not (tmp_path / "out").exists()
    with pytest.raises(PruningError, match="no partition plan"):
        export.read(tmp_path / "missing")
    model, _ = _pruned_model()
    with torch.no_grad():  # break the mask: a weight outside the blocks
        layer = model.classifier[1]
        i, j = np.argwhere(~layer.partition_plan.mask)[0]
        torch.nn.utils.prune.remove(layer, "weight")
        layer.weight[i, j] = 1.0
    with pytest.raises(PruningError, match="outside its partition blocks"):
        export.layer_plans(model)
