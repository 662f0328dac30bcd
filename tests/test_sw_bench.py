"""sw.bench: the measuring functions on small inputs (the full bench runs in make bench)."""

import numpy as np

from sw import bench


def test_quality_table_on_small_layers():
    seed = 8
    print(f"seed={seed}")
    rng = np.random.default_rng(seed)
    layers = [("gauss", rng.standard_normal((40, 60))), ("laplace", rng.laplace(size=(50, 30)))]
    rows = bench.quality(layers, (2, 3))
    assert len(rows) == 4
    for r in rows:
        assert r["random"] < r["default"] <= r["topk"]
        assert r["default"] >= r["greedy"]
    text = bench.quality_markdown(rows)
    assert text.count("\n| gauss |") == 2 and "of 4 layers" in text


def test_speed_measure():
    s = bench.speed(size=128, parts=3, repeats=2)
    assert len(s["times"]) == 2 and s["median"] > 0 and 1 / 3 < s["retained"] < 1
