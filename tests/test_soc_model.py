"""The whole-SoC cycle model (sim/golden/soc_perf.py) against the RTL's counters.

Small phases on 4x4 and 8x8 SoCs: 1-3 accelerators, 1, 2, 3 and 4 DRAM ports,
bus-bound (one vector, a long K) and compute-bound (many vectors) cases, with
the default 16-beat read bursts and with other lengths.
The model must equal the node counters, the DRAM beat counts and the bench's
phase cycles exactly.
"""

import time

import numpy as np
import pytest

from hw.config import ArrayParams
from hw.soc import SoCParams
from sim.golden.soc_perf import Layer, simulate
from sim.designs.soc.soc_driver import LayerJob, run_phase

CASES = {  # name: (array, accelerators, bus width, memory ports, [(M, K, N, bias), ...][, SoCParams options])
    "4x4-1acc-small": (4, 1, 512, 1, [(12, 20, 5, True)]),
    "4x4-1acc-compute": (4, 1, 512, 1, [(8, 16, 40, False)]),
    "4x4-1acc-bus": (4, 1, 512, 1, [(16, 64, 1, True)]),
    "4x4-2acc-1port": (4, 2, 512, 1, [(12, 40, 6, False), (8, 40, 6, True)]),
    "4x4-3acc-1port": (4, 3, 512, 1, [(12, 40, 3, True), (8, 40, 3, True), (16, 24, 3, False)]),
    "4x4-2acc-2ports": (4, 2, 512, 2, [(12, 40, 6, False), (8, 40, 6, True)]),
    "4x4-3acc-4ports": (4, 3, 512, 4, [(12, 40, 3, True), (8, 40, 3, True), (16, 24, 3, False)]),
    "4x4-1acc-2ports-bus": (4, 1, 512, 2, [(16, 200, 1, True)]),
    "4x4-2acc-3ports": (4, 2, 512, 3, [(12, 120, 2, True), (16, 64, 3, False)]),
    "8x8-1acc-3ports": (8, 1, 256, 3, [(24, 200, 2, True)]),
    "8x8-1acc": (8, 1, 512, 1, [(24, 40, 10, True)]),
    "8x8-2acc": (8, 2, 512, 1, [(24, 40, 4, True), (16, 48, 4, False)]),
    "4x4-2acc-2ports-burst256": (4, 2, 512, 2, [(12, 200, 2, True), (16, 64, 3, False)], {"read_burst": 256}),
    "8x8-1acc-3ports-burst5": (8, 1, 256, 3, [(24, 200, 2, True)], {"read_burst": 5}),
}


def compare(case, run_dir):
    """(RTL results, model results) of one case."""
    size, acc, bus, ports, shapes, *options = CASES[case]
    rng = np.random.default_rng(1)
    params = SoCParams(accelerators=acc, array=ArrayParams(size, size), bus_width=bus, mem_ports=ports,
                       **(options[0] if options else {}))
    jobs = {i: LayerJob(rng.standard_normal((M, K)).astype(np.float32), rng.standard_normal((K, N)).astype(np.float32),
                        rng.standard_normal(M).astype(np.float32) if bias else None, False)
            for i, (M, K, N, bias) in enumerate(shapes)}
    rtl = run_phase(params, jobs, run_dir=run_dir)
    model = simulate(params, {i: Layer(M, K, N, bias) for i, (M, K, N, bias) in enumerate(shapes)})
    return rtl, model


@pytest.mark.parametrize("case", list(CASES))
def test_model_equals_the_rtl(case, tmp_path):
    rtl, model = compare(case, tmp_path)
    line = [f"{case}: phase {rtl['phase_cycles']} RTL / {model['phase_cycles']} model"]
    for i, a in rtl["accelerators"].items():
        m = model["accelerators"][int(i)]
        line.append(f"acc{i} {a['counters']['cycles']}/{m['cycles']}")
        assert (m["cycles"], m["array_cycles"], m["finish"]) == \
            (a["counters"]["cycles"], a["counters"]["array_cycles"], a["finish"] - a["start"])
    print(", ".join(line))
    assert model["phase_cycles"] == rtl["phase_cycles"]
    for port_rtl, port_model in zip(rtl["memory"], model["memory"]):
        assert {k: port_rtl[k] for k in port_model} == port_model


def test_model_is_fast():
    """make sim's largest baseline layer (300x784 on 32x32, batch 16) in well under a few seconds."""
    t = time.perf_counter()
    r = simulate(SoCParams(accelerators=1, array=ArrayParams(32, 32)), {0: Layer(300, 784, 16)})
    assert r["phase_cycles"] > 300 * 784 * 16 // 1024
    assert time.perf_counter() - t < 10


def test_sweep_with_the_model_engine(tmp_path):
    """ENGINE=model: the sweep report without simulating, points marked by engine, no energy."""
    import json
    import subprocess
    import sys
    done = subprocess.run([sys.executable, "-m", "sim.flow", "--sweep", "--scale", "paper", "--fc-dims", "24,16,16,8",
                           "--max-partitions", "2", "--ports", "1,2", "--rows", "4", "--cols", "4", "--batch", "2",
                           "--engine", "model", "--executor", "local", "--workers", "1", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["engine"] == "model" and len(report["points"]) == 4
    for p in report["points"]:
        assert p["engine"] == "model" and p["energy_ratio"] is None and p["cycles"] > 0
    assert "n/a (cycle model)" in (tmp_path / "report.md").read_text()
