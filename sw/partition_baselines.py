"""Reference partitioners that the default optimiser is measured against.

* `paper_greedy`: the randomized greedy of the Partition Pruning paper (Shahhosseini et al., sec. 3.4),
  kept as faithful as the text allows so results can be compared with it.
* `random_groups`: a uniformly random balanced partition (the floor any method must beat).
* `coclustering_groups`: scikit-learn's SpectralCoclustering, rounded to balanced groups.
"""

from __future__ import annotations

import warnings

import numpy as np

from .partition_opt import assign, balanced_labels, bounds, objective


def _opening_sizes(size: int, parts: int) -> list[int]:
    """Group sizes in the order partitions are opened: the size % parts partitions of the
    upper bound first, then the lower bound ones (sec. 3.1 and 3.4: "the highest upper
    bound (or a lower bound if all upper bound partitions are fulfilled)")."""
    lo, hi = bounds(size, parts)
    n_hi = size % parts
    return [hi] * n_hi + [lo] * (parts - n_hi)


def _greedy_once(A: np.ndarray, parts: int, rng: np.random.Generator):
    m, n = A.shape
    row_size = _opening_sizes(m, parts)
    col_size = _opening_sizes(n, parts)
    rows = np.full(m, -1, dtype=np.int64)
    cols = np.full(n, -1, dtype=np.int64)
    room: list[int] = []  # rows each opened partition can still take
    members: list[np.ndarray] = []  # columns of each opened partition
    order = rng.permutation(m)
    k = 0
    for k, i in enumerate(order):
        opened = len(room)
        if opened == parts:
            break  # all partitions exist: the rest is done in bulk below
        best_p, best_score = -1, -np.inf
        for p in range(opened):
            if room[p] > 0:
                score = A[i, members[p]].sum()
                if score > best_score:
                    best_p, best_score = p, score
        free = np.flatnonzero(cols < 0)
        size = col_size[opened] if opened < parts - 1 else free.size
        top = free[np.argpartition(-A[i, free], size - 1)[:size]] if size < free.size else free
        if best_p < 0 or A[i, top].sum() > best_score:
            cols[top] = opened  # open a new partition with the row's largest free links
            members.append(top)
            room.append(row_size[opened] - 1)
            rows[i] = opened
        else:
            rows[i] = best_p
            room[best_p] -= 1
    else:
        k = m
    rest = order[k:]
    if rest.size:  # columns are fixed now: each row joins its best partition with room
        S = A[rest] @ (cols[:, None] == np.arange(parts)[None, :]).astype(A.dtype)
        for idx, i in enumerate(rest):
            ranked = np.argsort(-S[idx], kind="stable")
            for p in ranked:
                if room[p] > 0:
                    rows[i] = p
                    room[p] -= 1
                    break
    return rows, cols


def paper_greedy(A: np.ndarray, parts: int, rng: np.random.Generator, tries: int = 10):
    """Randomized greedy of the paper, best of `tries` random row orders.

    Interpretation of sec. 3.4 (the text leaves these open):
    * Start: a random row is picked; it opens partition 1 together with the free columns
      of its largest |w|; the number of columns is the upper bound ceil(n/P) while upper
      bound partitions remain, then the lower bound (sec. 3.1 sizes).
    * Non-start: the next random row compares (a) the sum of its largest free links that
      a new partition would take with (b) the sum of its links into each opened partition
      that still has row capacity, and joins the largest. A new partition can only be
      opened while fewer than P exist; the last one takes all remaining columns.
      Row capacities follow the same upper-then-lower order as columns.
    * "End and Try Again": the whole pass is repeated with new random orders and the
      partition with the least weight loss is kept.
    Ties go to the existing partition with the lowest index.
    """
    best = None
    for _ in range(max(1, tries)):
        rows, cols = _greedy_once(A, parts, rng)
        f = objective(A, rows, cols, parts)
        if best is None or f > best[2]:
            best = (rows, cols, f)
    return best[0], best[1]


def random_groups(A: np.ndarray, parts: int, rng: np.random.Generator):
    """A uniformly random balanced partition of rows and of columns."""
    m, n = A.shape
    return balanced_labels(m, parts, rng), balanced_labels(n, parts, rng)


def _round(labels: np.ndarray, affinity: np.ndarray, parts: int, rng) -> np.ndarray:
    """Balanced rounding: keep as many items in their cluster as the size bounds allow,
    moving the others to the group they have the most weight in (exact assignment)."""
    score = 2.0 * (labels[:, None] == np.arange(parts)[None, :]) + affinity
    return assign(score, balanced_labels(labels.size, parts, rng), *bounds(labels.size, parts))


def coclustering_groups(A: np.ndarray, parts: int, rng: np.random.Generator):
    """scikit-learn SpectralCoclustering (Dhillon 2001) with balanced rounding.

    Bicluster k pairs row cluster k with column cluster k. Rows are rounded with their
    weight share into each column cluster as tie-breaker, columns likewise.
    """
    from sklearn.cluster import SpectralCoclustering

    m, n = A.shape
    if parts == 1:
        return np.zeros(m, dtype=np.int64), np.zeros(n, dtype=np.int64)
    X = A.astype(np.float64) + 1e-12 * float(A.max() + 1e-30)  # strictly positive
    model = SpectralCoclustering(n_clusters=parts, random_state=int(rng.integers(2**31)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X)
    r0, c0 = model.row_labels_.astype(np.int64), model.column_labels_.astype(np.int64)
    Sr = X @ (c0[:, None] == np.arange(parts)).astype(np.float64)
    Sc = X.T @ (r0[:, None] == np.arange(parts)).astype(np.float64)
    Sr /= Sr.sum(axis=1, keepdims=True)
    Sc /= Sc.sum(axis=1, keepdims=True)
    return _round(r0, Sr, parts, rng), _round(c0, Sc, parts, rng)
