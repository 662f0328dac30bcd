"""The default Partition Pruning optimiser.

Objective: choose balanced row groups r (length m) and column groups c (length n), both
with values 0..P-1, to maximise f(r, c) = sum of A[i, j] over r[i] == c[j], A = |W|.

Why this works well and fast:

* For fixed column groups, the best balanced row groups are a transportation problem on
  the m x P score matrix S = A @ onehot(c) (S[i, p] = weight row i keeps in group p).
  `assign` solves it exactly: batched pairwise swaps (the Kernighan-Lin move, all
  improving swaps between two groups at once, which is optimal for that pair) and then
  cycle cancelling on the P-node "move a row from p to q" graph, which certifies
  optimality when no improving cycle is left. The same holds for columns with A.T.
* Alternating the two exact steps never decreases f, and each step costs two thin
  matrix products, so a 4096 x 4096 layer takes a few tenths of a second per start.
* Alternation stops in local optima, so we run several starts (a spectral start from
  the singular vectors of the normalised |W|, as in bipartite spectral co-clustering,
  plus random ones) and then "kicks": swap a random share of rows between two groups
  of the best solution and re-optimise, keeping the result only if it is better.

Everything random comes from one numpy Generator, so a seed gives one answer.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.cluster.vq import kmeans2


def bounds(size: int, parts: int) -> tuple[int, int]:
    """Lower and upper group size for `size` items in `parts` balanced groups."""
    lo = size // parts
    return lo, lo + (1 if size % parts else 0)


def balanced_labels(size: int, parts: int, rng: np.random.Generator) -> np.ndarray:
    """A uniformly random balanced labelling (group sizes differ by at most one)."""
    return rng.permutation(np.arange(size) % parts)


def onehot(labels: np.ndarray, parts: int, dtype=np.float64) -> np.ndarray:
    out = np.zeros((labels.size, parts), dtype=dtype)
    out[np.arange(labels.size), labels] = 1
    return out


# --------------------------------------------------------------------------- assignment
def _pair_swaps(S: np.ndarray, labels: np.ndarray, tol: float) -> bool:
    """Apply every improving swap between each pair of groups; True if anything moved.

    For groups p and q, moving row i from p to q gains S[i,q]-S[i,p]. The best k swaps
    pair the k largest gains of each side, so sorting both sides gives the optimum for
    the pair in one step.
    """
    P = S.shape[1]
    members = [np.flatnonzero(labels == p) for p in range(P)]
    moved = False
    for p in range(P):
        for q in range(p + 1, P):
            ip, iq = members[p], members[q]
            if ip.size == 0 or iq.size == 0:
                continue
            gp = S[ip, q] - S[ip, p]
            gq = S[iq, p] - S[iq, q]
            if gp.max() + gq.max() <= tol:
                continue
            # only rows whose gain beats minus the other side's best can be in a swap
            cp = np.flatnonzero(gp > -gq.max())
            cq = np.flatnonzero(gq > -gp.max())
            op = cp[np.argsort(-gp[cp], kind="stable")]
            oq = cq[np.argsort(-gq[cq], kind="stable")]
            k = min(op.size, oq.size)
            total = gp[op[:k]] + gq[oq[:k]]
            n = int(np.count_nonzero(total > tol))
            if n == 0:
                continue
            a, b = ip[op[:n]], iq[oq[:n]]
            labels[a] = q
            labels[b] = p
            members[p] = np.flatnonzero(labels == p)
            members[q] = np.flatnonzero(labels == q)
            moved = True
    return moved


def _cancel_cycle(S: np.ndarray, labels: np.ndarray, lo: int, hi: int, tol: float) -> bool:
    """Find one improving cycle of moves (or a path between a big and a small group when
    sizes may differ) and apply it. Returns False when none exists, i.e. at the optimum.

    Graph: node p per group plus a virtual node V. Edge p->q weighs the best gain of
    moving one row from p to q. V->p exists when p may shrink, p->V when p may grow, so
    a positive cycle through V is a size-changing path. Longest-path Bellman-Ford finds
    a positive cycle; it is verified before use.
    """
    m, P = S.shape
    N = P + 1
    cur = S[np.arange(m), labels]
    G = np.full((N, N), -np.inf)
    arg = np.zeros((N, N), dtype=np.int64)
    counts = np.bincount(labels, minlength=P)
    for p in range(P):
        rows = np.flatnonzero(labels == p)
        if rows.size == 0:
            continue
        gain = S[rows] - cur[rows, None]
        best = gain.argmax(axis=0)
        G[p, :P] = gain[best, np.arange(P)]
        arg[p, :P] = rows[best]
    G[np.arange(P), np.arange(P)] = -np.inf
    if lo < hi:
        G[P, :P] = np.where(counts > lo, 0.0, -np.inf)
        G[:P, P] = np.where(counts < hi, 0.0, -np.inf)
    dist = np.zeros(N)
    pred = np.full(N, -1)
    last = -1
    for _ in range(N):
        cand = dist[:, None] + G
        best_from = cand.argmax(axis=0)
        best = cand[best_from, np.arange(N)]
        better = best > dist + tol
        if not better.any():
            return False
        dist = np.where(better, best, dist)
        pred = np.where(better, best_from, pred)
        last = int(np.flatnonzero(better)[0])
    v = last
    for _ in range(N):  # walk back onto the cycle
        v = int(pred[v])
        if v < 0:
            return False
    cycle = [v]
    u = int(pred[v])
    while u != v and u >= 0 and len(cycle) <= N:
        cycle.append(u)
        u = int(pred[u])
    if u != v:
        return False  # the walk did not close into a simple cycle
    cycle.reverse()  # edges cycle[k] -> cycle[k+1]
    edges = list(zip(cycle, cycle[1:] + cycle[:1]))
    if sum(G[a, b] for a, b in edges) <= tol:
        return False  # not a verified improvement; treat as optimal
    moves = [(arg[a, b], b) for a, b in edges if a < P and b < P]
    for row, dest in moves:
        labels[row] = dest
    return True


def assign(S: np.ndarray, labels: np.ndarray, lo: int, hi: int, max_rounds: int = 10_000) -> np.ndarray:
    """Maximise sum S[i, labels[i]] over labellings with lo <= group size <= hi.

    Starts from the feasible `labels` (returned modified copy). Exact at termination:
    no improving swap, cycle or path remains.
    """
    labels = labels.copy()
    tol = 1e-12 * (float(np.abs(S).max()) + 1.0) * S.shape[0]
    for _ in range(max_rounds):
        swapped = _pair_swaps(S, labels, tol)
        cancelled = _cancel_cycle(S, labels, lo, hi, tol)
        if not swapped and not cancelled:
            break
    return labels


# --------------------------------------------------------------------------- alternation
def objective(A: np.ndarray, rows: np.ndarray, cols: np.ndarray, parts: int) -> float:
    S = A @ onehot(cols, parts, A.dtype)
    return float(S[np.arange(A.shape[0]), rows].sum(dtype=np.float64))


def _update(S, A_sub, old, new, parts):
    """S += A_sub @ (onehot(new) - onehot(old)): the score change when the items behind
    the columns of A_sub move from groups `old` to groups `new`."""
    delta = onehot(new, parts, A_sub.dtype) - onehot(old, parts, A_sub.dtype)
    S += A_sub @ delta


def alternate(A, rows, cols, parts, max_iter=200, rtol=1e-12):
    """Exact column step, exact row step, repeat until f stops growing.

    Scores are kept up to date incrementally: late iterations move a handful of rows
    or columns, so updating S costs far less than recomputing A @ onehot.
    """
    m, n = A.shape
    rlo, rhi = bounds(m, parts)
    clo, chi = bounds(n, parts)
    Sc = (A.T @ onehot(rows, parts, A.dtype)).astype(np.float64)  # n x P
    Sr = None
    best = -np.inf
    for _ in range(max_iter):
        new_cols = assign(Sc, cols, clo, chi)
        moved = np.flatnonzero(new_cols != cols)
        if Sr is None or moved.size > n // 8:
            Sr = (A @ onehot(new_cols, parts, A.dtype)).astype(np.float64)
        elif moved.size:
            _update(Sr, A[:, moved], cols[moved], new_cols[moved], parts)
        cols = new_cols
        new_rows = assign(Sr, rows, rlo, rhi)
        f = float(Sr[np.arange(m), new_rows].sum())
        moved = np.flatnonzero(new_rows != rows)
        if moved.size > m // 8:
            Sc = (A.T @ onehot(new_rows, parts, A.dtype)).astype(np.float64)
        elif moved.size:
            _update(Sc, A[moved].T, rows[moved], new_rows[moved], parts)
        rows = new_rows
        if moved.size == 0 or f <= best + rtol * abs(f):
            best = max(best, f)
            break
        best = f
    return rows, cols, best


# --------------------------------------------------------------------------- starts
def _orthonormal(Y: np.ndarray) -> np.ndarray:
    """Orthonormal basis of the columns of a tall thin Y via its small Gram matrix
    (twice, for accuracy). Much cheaper than a Householder QR of a 4096 x 11 matrix
    when the cores are busy; directions with no energy are dropped to zero."""
    for _ in range(2):
        G = Y.T.astype(np.float64) @ Y.astype(np.float64)
        w, V = np.linalg.eigh(G)
        keep = w > w.max() * 1e-12 if w.max() > 0 else np.zeros_like(w, dtype=bool)
        T = np.zeros_like(V)
        T[:, keep] = V[:, keep] / np.sqrt(w[keep])
        Y = Y @ T.astype(Y.dtype)
    return Y


def spectral_rows(A: np.ndarray, parts: int, rng: np.random.Generator, iters: int = 4) -> np.ndarray:
    """Balanced row groups from bipartite spectral co-clustering (Dhillon 2001).

    Singular vectors 2..P of D1^-1/2 A D2^-1/2 (randomised subspace iteration, so a
    4096 x 4096 layer costs a few thin products), scaled by D1^-1/2, clustered by
    k-means, then rounded to balanced groups by an exact assignment on -distance.
    """
    m, n = A.shape
    if parts == 1:
        return np.zeros(m, dtype=np.int64)
    eps = 1e-12 * float(A.max() + 1e-30)
    d1 = 1.0 / np.sqrt(A.sum(axis=1, dtype=np.float64) + eps)
    d2 = 1.0 / np.sqrt(A.sum(axis=0, dtype=np.float64) + eps)
    d1f, d2f = d1.astype(A.dtype), d2.astype(A.dtype)

    def mul(X):  # An @ X
        return d1f[:, None] * (A @ (d2f[:, None] * X))

    def mul_t(Y):  # An.T @ Y
        return d2f[:, None] * (A.T @ (d1f[:, None] * Y))

    k = min(parts + 8, min(m, n))
    Y = mul(rng.standard_normal((n, k)).astype(A.dtype))
    for _ in range(iters):
        Y = mul(_orthonormal(mul_t(_orthonormal(Y))))
    Q = _orthonormal(Y)
    B = mul_t(Q).T  # k x n == Q.T @ An
    B = B.astype(np.float64)
    w, V = np.linalg.eigh(B @ B.T)  # left singular vectors of the small B
    U = Q.astype(np.float64) @ V[:, np.argsort(-w, kind="stable")]
    emb = U[:, 1:parts] * d1[:, None]
    scale = np.abs(emb).max()
    if not np.isfinite(scale) or scale == 0:
        return balanced_labels(m, parts, rng)
    emb = emb / scale
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        centroids, _ = kmeans2(emb, parts, minit="++", seed=rng)
    dist = ((emb[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2)
    lo, hi = bounds(m, parts)
    return assign(-dist, balanced_labels(m, parts, rng), lo, hi)


# --------------------------------------------------------------------------- driver
def effort(m: int, n: int) -> tuple[int, int]:
    """Default (starts, kicks): generous for small layers, lighter for huge ones so a
    4096 x 4096 layer stays within a few seconds. Depends on the shape only, so results
    stay deterministic."""
    return (4, 8) if m * n <= 1 << 22 else (2, 2)


def optimise(A: np.ndarray, parts: int, rng: np.random.Generator, *, starts: int | None = None,
             kicks: int | None = None, kick_share: float = 0.1, max_iter: int = 200,
             rtol: float = 1e-6):
    """Best (rows, cols) found: a spectral start plus `starts - 1` random starts, each
    alternated to a local optimum, then `kicks` perturb-and-reoptimise rounds.

    `rtol` stops an alternation once an iteration gains less than that share of f.
    """
    m, n = A.shape
    if parts == 1:
        return np.zeros(m, dtype=np.int64), np.zeros(n, dtype=np.int64)
    auto_starts, auto_kicks = effort(m, n)
    starts = auto_starts if starts is None else starts
    kicks = auto_kicks if kicks is None else kicks
    # float32 halves memory traffic on big layers; the score matrices are kept in float64
    A = A.astype(np.float32 if A.size > 1 << 20 else np.float64, copy=False)
    candidates = [spectral_rows(A, parts, rng)]
    candidates += [balanced_labels(m, parts, rng) for _ in range(max(0, starts - 1))]
    best = None
    for rows in candidates:
        cols = balanced_labels(n, parts, rng)
        rows, cols, f = alternate(A, rows, cols, parts, max_iter, rtol)
        if best is None or f > best[2]:
            best = (rows, cols, f)
    for _ in range(kicks):
        rows = best[0].copy()
        p, q = rng.choice(parts, size=2, replace=False)
        ip, iq = np.flatnonzero(rows == p), np.flatnonzero(rows == q)
        k = max(1, int(kick_share * min(ip.size, iq.size)))
        a = rng.choice(ip, size=k, replace=False)
        b = rng.choice(iq, size=k, replace=False)
        rows[a], rows[b] = q, p
        rows, cols, f = alternate(A, rows, best[1].copy(), parts, max_iter, rtol)
        if f > best[2] * (1 + 1e-12):
            best = (rows, cols, f)
    return best[0], best[1]
