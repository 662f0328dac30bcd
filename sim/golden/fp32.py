"""FP32 oracles and test-vector sets for the arithmetic units.

Two oracles, both bit-exact for non-NaN results:

* ``softfloat(op, a, b)`` -- Berkeley SoftFloat through softfloatpy, the
  reference for IEEE-754 binary32 (about a million operations per second);
* ``numpy_op(op, a, b)`` -- numpy float32, which matches SoftFloat on every
  non-NaN result and is what the array golden models are built on.

NaN results are compared as a class: the hardware must return the quiet NaN
0x7FC00000 whenever the oracle returns any NaN.
"""

import numpy as np

QNAN = np.uint32(0x7FC00000)


def _as_bits(x) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.uint32)


def is_nan(bits) -> np.ndarray:
    bits = _as_bits(bits)
    return ((bits & 0x7F800000) == 0x7F800000) & ((bits & 0x007FFFFF) != 0)


def flush_subnormals(bits) -> np.ndarray:
    """Replace subnormal encodings by zero of the same sign (FTZ semantics)."""
    bits = _as_bits(bits)
    subnormal = ((bits & 0x7F800000) == 0) & ((bits & 0x007FFFFF) != 0)
    return np.where(subnormal, bits & 0x80000000, bits).astype(np.uint32)


def numpy_op(op: str, a, b, ftz: bool = False) -> np.ndarray:
    """The result bits of float32 ``a*b`` or ``a+b`` under RNE (FTZ optional).

    FTZ flushes subnormal inputs to signed zero before the operation and a
    subnormal result (after rounding) to signed zero.
    """
    a, b = _as_bits(a), _as_bits(b)
    if ftz:
        a, b = flush_subnormals(a), flush_subnormals(b)
    fn = {"mul": np.multiply, "add": np.add}[op]
    with np.errstate(all="ignore"):
        out = fn(a.view(np.float32), b.view(np.float32)).view(np.uint32)
    if ftz:
        out = flush_subnormals(out)
    return np.where(is_nan(out), QNAN, out).astype(np.uint32)


def softfloat(op: str, a, b, ftz: bool = False) -> np.ndarray:
    """The same as :func:`numpy_op`, computed by Berkeley SoftFloat."""
    import softfloatpy as sf

    sf.set_rounding_mode(sf.RoundingMode.NEAR_EVEN)
    a, b = _as_bits(a), _as_bits(b)
    if ftz:
        a, b = flush_subnormals(a), flush_subnormals(b)
    fn = {"mul": sf.f32_mul, "add": sf.f32_add}[op]
    from_bytes = sf.Float32.from_bytes
    a_bytes = a.astype(">u4").tobytes()
    b_bytes = b.astype(">u4").tobytes()
    out = bytearray(4 * a.size)
    for i in range(0, 4 * a.size, 4):
        out[i:i + 4] = fn(from_bytes(a_bytes[i:i + 4]), from_bytes(b_bytes[i:i + 4])).to_bytes()
    result = np.frombuffer(bytes(out), dtype=">u4").astype(np.uint32)
    if ftz:
        result = flush_subnormals(result)
    return np.where(is_nan(result), QNAN, result).astype(np.uint32)


def mismatches(got, expected) -> np.ndarray:
    """Indices where the hardware result differs from the oracle's.

    Non-NaN results must match bit for bit; a NaN oracle result must come
    back as exactly the quiet NaN 0x7FC00000.
    """
    got, expected = _as_bits(got), _as_bits(expected)
    if got.shape != expected.shape:
        raise ValueError(f"{got.size} results for {expected.size} expected values")
    expected = np.where(is_nan(expected), QNAN, expected)
    return np.nonzero(got != expected)[0]


# ---------------------------------------------------------------- vector sets

def random_bits(rng, n) -> np.ndarray:
    """Uniform random bit patterns (every class: NaN, inf, subnormal, normal)."""
    return rng.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32)


def subnormal_heavy(rng, n):
    """Operands that are subnormal, tiny normals, or whose product underflows."""
    sign = rng.integers(0, 2, (2, n), dtype=np.uint32) << 31
    frac = rng.integers(0, 1 << 23, (2, n), dtype=np.uint32)
    exp = rng.integers(0, 4, (2, n), dtype=np.uint32)
    # A quarter of the pairs: a near-underflow normal times a value below one,
    # so products land in or near the subnormal range.
    mid = rng.integers(0, 2, n).astype(bool)
    exp[1, mid] = rng.integers(100, 127, mid.sum(), dtype=np.uint32)
    exp[0, mid] = rng.integers(0, 40, mid.sum(), dtype=np.uint32)
    words = sign | (exp << 23) | frac
    return words[0], words[1]


def cancellation_heavy(rng, n):
    """Pairs of nearly equal magnitude and opposite sign (massive cancellation)."""
    a = random_bits(rng, n) & np.uint32(0x7F7FFFFF)       # finite, positive
    a = np.where(a < 0x00800000, a | 0x00800000, a).astype(np.uint32)
    delta = rng.integers(-64, 65, n).astype(np.int64)
    exp_shift = rng.integers(0, 3, n).astype(np.int64) << 23   # equal or adjacent binades
    b = np.clip(a.astype(np.int64) + delta - exp_shift * rng.integers(0, 2, n), 0, 0x7F7FFFFF)
    b = b.astype(np.uint32) | np.uint32(0x80000000)
    flip = rng.integers(0, 2, n).astype(bool)
    a[flip] |= np.uint32(0x80000000)
    b[flip] &= np.uint32(0x7FFFFFFF)
    return a, b


# TestFloat level 1 for binary32: boundary exponents x boundary significands
# x both signs.  Exponents cover zero/subnormal, the smallest normals, the
# binades around 1.0 and 2.0, the largest finite values and inf/NaN.
BOUNDARY_EXPONENTS = (0x00, 0x01, 0x02, 0x03, 0x17, 0x18, 0x19, 0x7E, 0x7F, 0x80, 0x81,
                      0xE6, 0xFD, 0xFE, 0xFF)
BOUNDARY_SIGNIFICANDS = (0x000000, 0x000001, 0x7FFFFF, 0x7FFFFE)


def boundary_values() -> np.ndarray:
    values = [(s << 31) | (e << 23) | f
              for s in (0, 1) for e in BOUNDARY_EXPONENTS for f in BOUNDARY_SIGNIFICANDS]
    return np.array(values, dtype=np.uint32)


def boundary_pairs():
    """All ordered pairs of the level-1 boundary values (14,400 pairs)."""
    values = boundary_values()
    a, b = np.meshgrid(values, values, indexing="ij")
    return a.ravel(), b.ravel()


def regression_set(op: str, rng, n_random: int):
    """The full oracle set (docs/flow.md, Verification): random, subnormal-heavy, cancellation, boundary."""
    parts = [
        (random_bits(rng, n_random), random_bits(rng, n_random)),
        subnormal_heavy(rng, n_random),
        boundary_pairs(),
    ]
    if op == "add":
        parts.append(cancellation_heavy(rng, n_random))
    a = np.concatenate([p[0] for p in parts])
    b = np.concatenate([p[1] for p in parts])
    return a, b
