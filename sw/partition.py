"""Partition Pruning of one fully connected layer (Shahhosseini et al., sec. 3).

A layer y = W x + b with W of shape (m out_features, n in_features) is split into P
balanced row groups and P balanced column groups; only links whose row and column fall
in the same group are kept. After permuting rows and columns the kept weights form P
dense diagonal blocks, so P accelerators can each run one block with no communication.
The groups are chosen to keep as much of sum |W| as possible.

    plan = partition_prune(layer.weight, 3)
    plan.mask          # bool (m, n), mask[i, j] == (row_groups[i] == col_groups[j])
    plan.retained      # kept share of sum |W|
    plan.blocks(W)     # the P dense blocks, W[rows(p)][:, cols(p)]

Optimisers (`method=`): "default" (multi-start exact alternating assignment, see
`sw.partition_opt`), "greedy" (the paper's randomized greedy), "spectral"
(scikit-learn SpectralCoclustering, balanced) and "random".
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from . import partition_baselines as baselines
from . import partition_opt
from .errors import PruningError

METHODS = ("default", "greedy", "spectral", "random")


@dataclass(frozen=True, eq=False)
class PartitionPlan:
    """The result of partitioning one weight matrix; arrays are read-only.

    Group labels are canonical: group 0 holds row 0, and groups are numbered in the
    order of their first row, so equal partitions compare equal label by label.
    """

    mask: np.ndarray  # bool (m, n)
    row_groups: np.ndarray  # int64 (m,), values 0..P-1
    col_groups: np.ndarray  # int64 (n,), values 0..P-1
    retained: float  # kept share of sum |W| (1.0 for an all-zero matrix)
    partitions: int
    method: str = "default"
    seed: int = 0

    @property
    def shape(self) -> tuple[int, int]:
        return self.mask.shape

    @property
    def density(self) -> float:
        """Kept share of the weights (about 1/P)."""
        return float(self.mask.mean())

    def rows(self, p: int) -> np.ndarray:
        """Output indices of partition p (ascending): where its block's results go."""
        return np.flatnonzero(self.row_groups == p)

    def cols(self, p: int) -> np.ndarray:
        """Input indices of partition p (ascending): what its block reads."""
        return np.flatnonzero(self.col_groups == p)

    def blocks(self, weight) -> list[np.ndarray]:
        """The P dense blocks W[rows(p)][:, cols(p)] of `weight` (numpy or torch)."""
        W = _to_numpy(weight)
        if W.shape != self.shape:
            raise PruningError(f"weight shape {W.shape} does not match the plan's {self.shape}")
        return [W[np.ix_(self.rows(p), self.cols(p))] for p in range(self.partitions)]


def _to_numpy(weight) -> np.ndarray:
    if hasattr(weight, "detach"):  # torch tensor or parameter
        weight = weight.detach().cpu().numpy()
    return np.asarray(weight)


def check_partitions(partitions, m: int, n: int, what: str = "weight") -> int:
    """Validate P against an m x n matrix; returns it as int or raises PruningError."""
    if isinstance(partitions, bool) or not isinstance(partitions, numbers.Integral):
        raise PruningError(f"partitions must be an integer, got {partitions!r}")
    P = int(partitions)
    if P < 1:
        raise PruningError(f"partitions must be at least 1, got {P}")
    if P > m or P > n:
        raise PruningError(
            f"partitions={P} is larger than the {what}'s {m} rows x {n} columns; "
            f"each partition needs at least one row and one column")
    return P


def check_weight(weight, what: str = "weight") -> np.ndarray:
    """Return |weight| as a float (m, n) array (float32 stays float32, anything else
    becomes float64), or raise PruningError."""
    try:
        W = _to_numpy(weight)
    except Exception as exc:  # e.g. a tensor that needs grad on another device
        raise PruningError(f"{what} cannot be read as an array: {exc}") from None
    if W.ndim != 2:
        raise PruningError(f"{what} must be 2-D (out_features x in_features), got shape {tuple(W.shape)}")
    if W.size == 0:
        raise PruningError(f"{what} is empty, shape {tuple(W.shape)}")
    if not (np.issubdtype(W.dtype, np.floating) or np.issubdtype(W.dtype, np.integer)):
        raise PruningError(f"{what} must be numeric, got dtype {W.dtype}")
    A = np.abs(W) if W.dtype == np.float32 else np.abs(W.astype(np.float64, copy=False))
    bad = int(np.count_nonzero(~np.isfinite(A)))
    if bad:
        raise PruningError(f"{what} contains {bad} NaN or Inf value(s); partition pruning needs finite weights")
    return A


def _canonical(rows: np.ndarray, cols: np.ndarray, parts: int):
    """Relabel groups in order of their first row so equal partitions look equal."""
    first = np.array([np.flatnonzero(rows == p)[0] for p in range(parts)])
    relabel = np.empty(parts, dtype=np.int64)
    relabel[np.argsort(first, kind="stable")] = np.arange(parts)
    return relabel[rows], relabel[cols]


def plan_from_groups(A: np.ndarray, row_groups, col_groups, parts: int, method: str = "given",
                     seed: int = 0) -> PartitionPlan:
    """Build a validated plan from group labels for |W| = A."""
    rows = np.asarray(row_groups, dtype=np.int64)
    cols = np.asarray(col_groups, dtype=np.int64)
    m, n = A.shape
    if rows.shape != (m,) or cols.shape != (n,):
        raise PruningError(f"group labels of length {rows.size}/{cols.size} do not fit a {m}x{n} weight")
    for labels, size, what in ((rows, m, "row"), (cols, n, "column")):
        if labels.min() < 0 or labels.max() >= parts:
            raise PruningError(f"{what} groups must be in 0..{parts - 1}")
        counts = np.bincount(labels, minlength=parts)
        if counts.max() - counts.min() > 1:
            raise PruningError(f"{what} groups are not balanced: sizes {counts.tolist()}")
    rows, cols = _canonical(rows, cols, parts)
    mask = rows[:, None] == cols[None, :]
    total = float(A.sum(dtype=np.float64))
    retained = float(A[mask].sum(dtype=np.float64)) / total if total > 0 else 1.0
    for arr in (mask, rows, cols):
        arr.flags.writeable = False
    return PartitionPlan(mask, rows, cols, retained, parts, method, seed)


def partition_prune(weight, partitions: int, *, seed: int = 0, method: str = "default",
                    **options) -> PartitionPlan:
    """Partition a weight matrix (numpy or torch, shape out x in) into P balanced
    diagonal blocks keeping the most sum |W|; deterministic for a given seed.

    options: for "default" `starts`, `kicks`, `kick_share`, `rtol` (see
    `sw.partition_opt.optimise`); for "greedy" `tries` (default 10).
    """
    A = check_weight(weight)
    m, n = A.shape
    P = check_partitions(partitions, m, n)
    if method not in METHODS:
        raise PruningError(f"unknown partition method {method!r}; choose one of {', '.join(METHODS)}")
    rng = np.random.default_rng(seed)
    if P == 1:
        rows, cols = np.zeros(m, dtype=np.int64), np.zeros(n, dtype=np.int64)
    elif method == "default":
        rows, cols = partition_opt.optimise(A, P, rng, **options)
    elif method == "greedy":
        rows, cols = baselines.paper_greedy(A, P, rng, **options)
    elif method == "spectral":
        rows, cols = baselines.coclustering_groups(A, P, rng)
    else:
        rows, cols = baselines.random_groups(A, P, rng)
    return plan_from_groups(A, rows, cols, P, method, seed)


def topk_retained(weight, density: float) -> float:
    """Upper bound for any mask of this density: the share of sum |W| in the largest
    round(density * size) entries (unstructured magnitude pruning)."""
    A = check_weight(weight).ravel()
    k = int(round(density * A.size))
    total = A.sum(dtype=np.float64)
    if total == 0:
        return 1.0
    if k <= 0:
        return 0.0
    return float(np.partition(A, A.size - k)[A.size - k:].sum(dtype=np.float64) / total)
