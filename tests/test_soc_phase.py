"""A phase that uses one accelerator costs the same on any SoC: idle accelerators
take no cycles, so the flow runs such phases on the one-accelerator SoC."""

import json

import numpy as np

from hw.config import ArrayParams
from hw.soc import SoCParams
from sim.golden.gemm import linear
from sim.designs.soc.soc_driver import LayerJob, run_phase


def test_one_accelerator_phase_is_the_same_on_a_two_accelerator_soc(rng, tmp_path):
    W = rng.standard_normal((12, 20)).astype(np.float32)
    X = rng.standard_normal((20, 5)).astype(np.float32)
    b = rng.standard_normal(12).astype(np.float32)
    jobs = {0: LayerJob(W, X, b, True)}
    results = {n: run_phase(SoCParams(accelerators=n, array=ArrayParams(4, 4)), jobs, run_dir=tmp_path / f"soc{n}")
               for n in (1, 2)}
    one, two = results[1], results[2]
    expected = linear(W, X, b, True).view(np.uint32)
    for r in (one, two):
        assert np.array_equal(r["accelerators"]["0"]["Y"].view(np.uint32), expected)
    assert one["phase_cycles"] == two["phase_cycles"]
    assert one["accelerators"]["0"]["counters"] == two["accelerators"]["0"]["counters"]
    assert one["memory"] == two["memory"]


def test_progress_reports_change_nothing(rng, tmp_path):
    """The bench's progress wake-ups (here every 100 cycles) leave the results alone."""
    W = rng.standard_normal((12, 40)).astype(np.float32)
    X = rng.standard_normal((40, 6)).astype(np.float32)
    params = SoCParams(accelerators=2, array=ArrayParams(4, 4))
    jobs = {0: LayerJob(W, X, None, False), 1: LayerJob(W[:8], X, None, True)}
    plain = run_phase(params, jobs, run_dir=tmp_path / "plain")
    watched = run_phase(params, jobs, run_dir=tmp_path / "watched", progress_every=100)
    progress = json.loads((tmp_path / "watched" / "progress.json").read_text())
    assert 100 <= progress["cycles"] <= watched["phase_cycles"] + 200
    assert not (tmp_path / "plain" / "progress.json").exists()
    assert plain["phase_cycles"] == watched["phase_cycles"]
    for i in ("0", "1"):
        assert plain["accelerators"][i]["counters"] == watched["accelerators"][i]["counters"]
        assert np.array_equal(plain["accelerators"][i]["Y"].view(np.uint32),
                              watched["accelerators"][i]["Y"].view(np.uint32))
