"""sw.train: a small end-to-end smoke run and the checkpoint cache."""

import numpy as np
import pytest
import torch

from sw import data, train

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def digits():
    return data.digits()


def test_train_prune_finetune_smoke(digits, tmp_path):
    cfg = train.TrainConfig(epochs=10, batch_size=32, lr=0.05, seed=0, max_steps=200)
    model = train.baseline("lenet300", digits, cfg, cache=tmp_path)
    base = train.evaluate(model, digits.x_test, digits.y_test)
    assert base["top1"] > 80  # chance is 10%
    assert base["top5"] >= base["top1"]
    ft = train.TrainConfig(epochs=2, batch_size=32, lr=0.02, seed=1, max_steps=60)
    out = train.prune_and_finetune(model, digits, "partition", ft, partitions=3)
    assert out.baseline == base
    assert out.finetuned["top1"] > 60
    plan = out.model.classifier[1].partition_plan
    w = out.model.classifier[1].weight.detach().numpy()
    assert np.all(w[~plan.mask] == 0)  # fine-tuning held the mask
    assert np.any(w[plan.mask] != model.classifier[1].weight.detach().numpy()[plan.mask])
    assert out.row()["density"] == pytest.approx(1 / 3, abs=0.01)
    # the trained model itself was not pruned
    assert not hasattr(model.classifier[1], "weight_mask")


def test_checkpoint_cache(digits, tmp_path):
    cfg = train.TrainConfig(epochs=1, batch_size=64, seed=3, max_steps=5)
    first = train.baseline("lenet300", digits, cfg, cache=tmp_path)
    files = list((tmp_path / "checkpoints").glob("*.pt"))
    assert len(files) == 1
    stamp = files[0].stat().st_mtime_ns
    second = train.baseline("lenet300", digits, cfg, cache=tmp_path)
    assert files[0].stat().st_mtime_ns == stamp
    for a, b in zip(first.parameters(), second.parameters()):
        assert torch.equal(a, b)
    other = train.TrainConfig(epochs=1, batch_size=64, seed=4, max_steps=5)
    train.baseline("lenet300", digits, other, cache=tmp_path)
    assert len(list((tmp_path / "checkpoints").glob("*.pt"))) == 2


def test_fixed_seed_gives_the_same_model(digits):
    cfg = train.TrainConfig(epochs=1, batch_size=64, seed=5, max_steps=20)
    a = train.baseline("lenet300", digits, cfg)
    b = train.baseline("lenet300", digits, cfg)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


@pytest.mark.parametrize("damage", ["truncate", "other_model"])
def test_unreadable_checkpoint_is_retrained(digits, tmp_path, capsys, damage):
    """A checkpoint that cannot be loaded is retrained (one notice), never trusted."""
    cfg = train.TrainConfig(epochs=1, batch_size=64, seed=6, max_steps=5)
    fresh = train.baseline("lenet300", digits, cfg, cache=tmp_path)
    path, = (tmp_path / "checkpoints").glob("*.pt")
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:100])
    else:
        torch.save({"weight": torch.zeros(3)}, path)
    capsys.readouterr()
    again = train.baseline("lenet300", digits, cfg, cache=tmp_path)
    notices = [l for l in capsys.readouterr().err.splitlines() if l.startswith("notice:")]
    assert len(notices) == 1 and str(path) in notices[0] and "training again" in notices[0]
    assert all(torch.equal(p, q) for p, q in zip(fresh.parameters(), again.parameters()))
    reloaded = train.baseline("lenet300", digits, cfg, cache=tmp_path)     # rewritten, readable again
    assert all(torch.equal(p, q) for p, q in zip(fresh.parameters(), reloaded.parameters()))


def test_checkpoint_key_covers_torch_and_training_code(digits, monkeypatch):
    cfg = train.TrainConfig(epochs=1, seed=0)
    key = train.cache_key("lenet300", digits, cfg)
    monkeypatch.setattr(train.torch, "__version__", "0.0-other")
    assert train.cache_key("lenet300", digits, cfg) != key
    monkeypatch.undo()
    monkeypatch.setattr(train, "_code_digest", lambda: "changed")
    assert train.cache_key("lenet300", digits, cfg) != key
