"""sw.data: the real offline data sets and the user's own data."""

import numpy as np
import pytest
import torch

from sw import data
from sw.errors import PruningError


def test_mnist_subset_is_the_real_5000_images():
    ds = data.mnist()
    assert len(ds.y_train) + len(ds.y_test) == 5000
    assert (len(ds.y_train), len(ds.y_test)) == (4000, 1000)
    assert ds.input_shape == (1, 28, 28) and ds.num_classes == 10
    assert ds.x_train.dtype == torch.float32
    assert float(ds.x_train.min()) == 0.0 and float(ds.x_train.max()) == 1.0
    assert torch.bincount(ds.y_test).tolist() == [100] * 10  # stratified split
    # real digits: the mean image is bright in the middle and dark at the border
    mean = ds.x_train.mean(dim=0)[0]
    assert mean[10:18, 10:18].mean() > 5 * mean[:3].mean()
    again = data.mnist()
    assert torch.equal(again.x_test, ds.x_test)


def test_digits():
    ds = data.load("digits")
    assert len(ds.y_train) + len(ds.y_test) == 1797
    assert ds.input_shape == (1, 8, 8) and ds.num_classes == 10
    assert float(ds.x_train.max()) <= 1.0


def test_npz_both_layouts(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.random((50, 6)).astype(np.float32), np.arange(50) % 5
    np.savez(tmp_path / "xy.npz", x=x, y=y)
    ds = data.load(str(tmp_path / "xy.npz"))
    assert len(ds.y_train) == 40 and len(ds.y_test) == 10 and ds.num_classes == 5
    np.savez(tmp_path / "split.npz", x_train=x[:30], y_train=y[:30], x_test=x[30:], y_test=y[30:])
    ds = data.load(str(tmp_path / "split.npz"))
    assert ds.input_shape == (6,) and torch.equal(ds.x_test, torch.from_numpy(x[30:]))
    np.savez(tmp_path / "bad.npz", images=x)
    with pytest.raises(PruningError, match="x_train, y_train"):
        data.load(str(tmp_path / "bad.npz"))


def test_image_folder(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for split, count in (("train", 4), ("val", 2)):
        for cls in ("cat", "dog"):
            (tmp_path / split / cls).mkdir(parents=True)
            for k in range(count):
                pixels = rng.integers(0, 255, (10, 12, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(tmp_path / split / cls / f"{k}.png")
    ds = data.image_folder(tmp_path, size=8)
    assert ds.input_shape == (3, 8, 8) and ds.num_classes == 2
    assert (len(ds.y_train), len(ds.y_test)) == (8, 4) and ds.x_train.dtype == torch.uint8
    assert data.as_float(ds.x_train).max() <= 1.0


def test_missing_data_sets_name_what_is_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("PP_TINYIMAGENET", str(tmp_path / "tiny-imagenet-200"))
    with pytest.raises(PruningError, match="Tiny ImageNet not found: .*tiny-imagenet-200/train"):
        data.load("tinyimagenet")
    with pytest.raises(PruningError, match="data set not found"):
        data.load(str(tmp_path / "nothing"))
    with pytest.raises(PruningError, match="data file not found"):
        data.load(str(tmp_path / "nothing.npz"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(PruningError, match="no train/ subfolder"):
        data.load(str(tmp_path / "empty"))
