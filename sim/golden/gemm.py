"""Golden model of the accelerator: numpy float32 in the hardware's order.

The array computes, for every output m and vector n,

    acc = b[m]  (or +0.0 without bias)
    for k in 0 .. K-1:          # strictly in k order, across K-tiles
        acc = acc + W[m, k] * x_n[k]      # float32 multiply, then float32 add
    y = relu(acc) if relu else acc

which is exactly numpy's float32 ``acc + w * x`` (SoftFloat-identical on
non-NaN results), so the RTL is compared bit for bit.  ReLU maps anything
with the sign bit set (including -0.0 and -inf) to +0.0 and keeps NaN.
"""

import numpy as np

from .fp32 import QNAN, flush_subnormals, is_nan


def relu_bits(acc: np.ndarray) -> np.ndarray:
    bits = np.ascontiguousarray(acc, np.float32).view(np.uint32)
    negative = (bits >> 31).astype(bool) & ~is_nan(bits)
    return np.where(negative, np.uint32(0), bits).view(np.float32)


def linear(W, X, bias=None, relu=False, ftz=False) -> np.ndarray:
    """Y[M x N] = act(W[M x K] @ X[K x N] + b) in the hardware's accumulation order."""
    W = np.asarray(W, np.float32)
    X = np.asarray(X, np.float32)
    M, K = W.shape
    if X.shape[0] != K:
        raise ValueError(f"W is {M}x{K} but X has {X.shape[0]} rows")
    N = X.shape[1]
    if bias is not None:   # copy, not 0 + b: that would turn a -0.0 bias into +0.0
        acc = np.repeat(np.asarray(bias, np.float32)[:, None], N, axis=1)
    else:
        acc = np.zeros((M, N), np.float32)
    flush = (lambda a: flush_subnormals(a.view(np.uint32)).view(np.float32)) if ftz else (lambda a: a)
    W, X, acc = flush(W), flush(X), flush(acc)
    with np.errstate(all="ignore"):
        for k in range(K):
            acc = flush(acc + flush(W[:, k:k + 1] * X[k:k + 1, :]))
    if relu:
        acc = relu_bits(acc)
    bits = acc.view(np.uint32)
    return np.where(is_nan(bits), QNAN, bits).view(np.float32)


def compare(got, expected) -> dict:
    """Bit-exact comparison (NaN as a class) plus float64 error for information."""
    got = np.ascontiguousarray(got, np.float32)
    expected = np.ascontiguousarray(expected, np.float32)
    g, e = got.view(np.uint32), expected.view(np.uint32)
    e = np.where(is_nan(e), QNAN, e)
    mismatches = int(np.count_nonzero(g != e))
    finite = np.isfinite(got) & np.isfinite(expected)
    err = np.abs(got.astype(np.float64) - expected.astype(np.float64))[finite]
    return {"bit_exact": mismatches == 0, "mismatches": mismatches,
            "max_abs_err": float(err.max()) if err.size else 0.0}


def float64_error(W, X, bias, relu, got) -> float:
    """Max |hardware - float64 reference| over finite outputs (information only)."""
    with np.errstate(all="ignore"):
        ref = np.asarray(W, np.float64) @ np.asarray(X, np.float64)
        if bias is not None:
            ref += np.asarray(bias, np.float64)[:, None]
        if relu:
            ref = np.maximum(ref, 0.0)
        got = np.asarray(got, np.float64)
        finite = np.isfinite(ref) & np.isfinite(got)
        return float(np.abs(ref - got)[finite].max()) if finite.any() else 0.0
