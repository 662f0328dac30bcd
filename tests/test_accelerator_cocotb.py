"""Generated accelerator Verilog on Verilator (and Icarus), bit for bit.

One simulator run per array size executes a list of layers: seeded random
shapes with K and M that are not multiples of the array, N = 1, data full of
zeros, negative zeros, subnormals, infinities and NaN, bias and ReLU on and
off, and descriptors the hardware must reject.  Every output is compared
bit for bit with the hardware-order golden model and every cycle counter
with the cycle model.
"""

import numpy as np
import pytest

from hw.config import ArrayParams
from sim.designs.accel.accel import Layer, params_for, run_layers
from sim.golden import perf

SPECIALS = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -1e-45, 1.1754942e-38, 3e38, -3e38],
                    np.float32)


def special_matrix(rng, shape, p_special=0.08):
    values = rng.standard_normal(shape).astype(np.float32)
    mask = rng.random(shape) < p_special
    values[mask] = rng.choice(SPECIALS, mask.sum())
    # and every special at least once, at random places
    flat = values.reshape(-1)
    spots = rng.choice(flat.size, min(flat.size, SPECIALS.size), replace=False)
    flat[spots] = SPECIALS[:spots.size]
    return values


def make_layers(rng, R, C, count):
    layers = []
    for i in range(count):
        M = int(rng.integers(1, 2 * C + 3))
        K = int(rng.integers(1, 3 * R + 3))
        N = int(rng.choice([1, 2, 3, 5, 9]))
        bias = rng.standard_normal(M).astype(np.float32) if rng.random() < 0.6 else None
        layers.append(Layer(rng.standard_normal((M, K)).astype(np.float32),
                            rng.standard_normal((K, N)).astype(np.float32),
                            bias, relu=bool(rng.random() < 0.5), name=f"rand{i}-{M}x{K}x{N}"))
    M, K = C + 1, R + 1
    layers += [
        Layer(special_matrix(rng, (M, K)), special_matrix(rng, (K, 4)),
              special_matrix(rng, (M,)), relu=False, name="specials"),
        Layer(special_matrix(rng, (M, K)), special_matrix(rng, (K, 3)), None, relu=True, name="specials-relu"),
        # -0 weights and bias: the sum stays -0 only if padding adds the identity -0
        Layer(np.full((M, K), -0.0, np.float32), np.abs(rng.standard_normal((K, 2))).astype(np.float32),
              np.full(M, -0.0, np.float32), name="negative-zeros"),
        Layer(np.zeros((M, K), np.float32), np.zeros((K, 1), np.float32), None, name="zeros-n1"),
        # subnormal products and sums
        Layer((rng.standard_normal((M, K)) * 1e-20).astype(np.float32),
              (rng.standard_normal((K, 3)) * 1e-20).astype(np.float32), None, name="subnormal"),
    ]
    return layers


def check(results, layers, array):
    for layer, res in zip(layers, results):
        if layer.descriptor:
            assert res["error"] == 1, layer.name
            continue
        assert res["error"] == 0, layer.name
        assert res["bit_exact"], (layer.name, res["mismatches"])
        M, K = layer.W.shape
        assert res["counters"] == perf.cycles(array, M, K, layer.X.shape[1]), layer.name


@pytest.mark.parametrize("R,C,count", [(1, 1, 4), (2, 3, 8), (4, 4, 8), (8, 8, 6)])
def test_verilator_layers(R, C, count, rng, tmp_path):
    array = ArrayParams(rows=R, cols=C)
    layers = make_layers(rng, R, C, count)
    params = params_for(layers, array)
    # descriptors the hardware must refuse without running
    bad = layers[0]
    layers += [Layer(bad.W, bad.X, None, name="zero-m", descriptor=(0, bad.W.shape[1], 1)),
               Layer(bad.W, bad.X, None, name="oversized-n", descriptor=(1, 1, params.acc_words + 1))]
    results = run_layers(params, layers, simulator="verilator", run_dir=tmp_path)
    check(results, layers, array)
    # the special-value layers really produced NaN, inf and -0 outputs
    specials = {l.name: r for l, r in zip(layers, results)}
    assert np.isnan(specials["specials"]["Y"]).any()
    assert np.all(np.signbit(specials["negative-zeros"]["Y"]))


def test_icarus_layers(rng, tmp_path):
    array = ArrayParams(rows=2, cols=3)
    layers = make_layers(rng, 2, 3, 3)[:3] + make_layers(rng, 2, 3, 0)[:2]
    params = params_for(layers, array)
    results = run_layers(params, layers, simulator="icarus", run_dir=tmp_path)
    check(results, layers, array)
