"""The flow's typed records serialise to report.json's keys, with the roofline derived once."""

import json
from pathlib import Path

import numpy as np
import pytest

from sim.flow.records import LayerReport, PhaseRecord, Roofline, share, total_roofline

PHASE_KEYS = {"name", "shape", "batch", "partitioned", "accelerators", "cycles", "phase_cycles",
              "inter_layer_cycles", "host_op_cycles", "per_accelerator", "dram", "roofline", "bit_exact",
              "mismatches", "max_abs_err", "golden_vs_torch", "nonzero_weights", "wall_seconds",
              "soc_accelerators", "sim_seconds", "toggles"}


def _record(name, cycles, bus, compute, **extra):
    return PhaseRecord(name=name, shape=[64, 256], batch=16, partitioned=True, accelerators=2, cycles=cycles,
                       phase_cycles=cycles - 10, inter_layer_cycles=10, host_op_cycles=0,
                       per_accelerator={0: {"finish": 5}}, dram={"read_beats": 1}, roofline=Roofline(bus, compute, cycles),
                       bit_exact=True, mismatches=0, max_abs_err=0.0, golden_vs_torch={"within_bound": True},
                       nonzero_weights=100, wall_seconds=1.0, soc_accelerators=2, sim_seconds=0.5, toggles=None,
                       energy_inputs=object(), **extra)


def test_roofline_picks_the_larger_bound():
    bus = Roofline(bus_bound_cycles=900, compute_bound_cycles=500, cycles=1000)
    assert (bus.bound, bus.bound_cycles, bus.roofline_fraction) == ("bus", 900, 0.9)
    compute = Roofline(bus_bound_cycles=100, compute_bound_cycles=400, cycles=800)
    assert compute.as_dict() == {"bus_bound_cycles": 100, "compute_bound_cycles": 400, "cycles": 800,
                                 "bound": "compute", "roofline_fraction": 0.5, "array_floor_cycles": None}
    total = total_roofline([bus, compute])
    assert total == {"bus_bound_cycles": 1000, "compute_bound_cycles": 900, "bound_cycles": 1300,
                     "cycles": 1800, "roofline_fraction": pytest.approx(1300 / 1800), "without_array_bound": None}


def test_the_total_without_array_bound_layers_leaves_out_exactly_those():
    # bound 400 < 0.9 x floor 450: array-bound; bound 405 = 0.9 x 450: not
    bound_by_array = Roofline(bus_bound_cycles=400, compute_bound_cycles=64, cycles=650, array_floor_cycles=450)
    at_the_edge = Roofline(bus_bound_cycles=405, compute_bound_cycles=64, cycles=500, array_floor_cycles=450)
    bus = Roofline(bus_bound_cycles=900, compute_bound_cycles=500, cycles=1000, array_floor_cycles=600)
    assert (bound_by_array.array_bound, at_the_edge.array_bound, bus.array_bound) == (True, False, False)
    total = total_roofline([bus, bound_by_array, at_the_edge])
    assert total["roofline_fraction"] == pytest.approx(1705 / 2150)
    assert total["without_array_bound"] == {"bound_cycles": 1305, "cycles": 1500,
                                            "roofline_fraction": pytest.approx(1305 / 1500)}
    assert total_roofline([bound_by_array])["without_array_bound"] is None      # nothing left to show


@pytest.mark.parametrize("fraction,shown", [(0.897, "89.7%"), (0.8949, "89%"), (0.9, "90%"), (0.96, "96%"),
                                            (0.2, "20%"), (0.8996, "89.9%"), (188 / 209, "89.9%")])
def test_a_share_just_under_the_goal_is_not_rounded_up_to_it(fraction, shown):
    assert share(fraction) == shown


def test_phase_record_serialises_without_the_energy_inputs():
    record = _record("fc1", 1000, 900, 500)
    data = record.as_dict()
    assert set(data) == PHASE_KEYS                  # energy_pj only once the energy model has run
    record.energy_pj = 12.5
    data = record.as_dict()
    assert set(data) == PHASE_KEYS | {"energy_pj"} and data["energy_pj"] == 12.5
    json.dumps(data)                                # plain JSON: the energy model's inputs are not in it


def test_layer_report_puts_the_baseline_beside_the_pruned_run():
    pruned, baseline = _record("fc1", 1000, 900, 500), _record("fc1", 3000, 2000, 2900)
    entry = LayerReport(pruned, baseline, breakdown={"compute": 1}, placement={"fused": ["relu"]}).as_dict()
    assert entry["cycles"] == 1000 and entry["baseline_cycles"] == 3000
    assert entry["baseline"] == baseline.as_dict()
    assert entry["roofline"] == {"baseline": baseline.roofline.as_dict(), "pruned": pruned.roofline.as_dict()}
    assert entry["breakdown"] == {"compute": 1} and entry["fused"] == ["relu"]


def _counters(cycles, **parts):
    slow = {"cycles": cycles, "array_cycles": cycles, "finish": cycles, "compute": 16, "weight_wait": 0,
            "stall": 0, "drain": 99}
    slow.update(parts)
    return {0: slow}


@pytest.mark.parametrize("parts,cause", [
    ({"stall": 300}, "K-tile accumulation chain"),
    ({"weight_wait": 300}, "weight tiles arriving from DRAM"),
    ({"array_cycles": 200}, "input load and the write-back's tail"),
    # 200 tiles of 16 vectors on 32x32: each tile after the first waits 33 - 16 cycles for its weights,
    # one of them beyond the compute bound's max(N, R) = 32 a tile
    ({"compute": 3200, "weight_wait": 199 * 17 + 5}, "a tile holds it 33 cycles, against max(N, R) = 32"),
])
def test_a_layer_under_its_bound_gets_one_line_naming_its_largest_cause(parts, cause):
    from hw.config import ArrayParams
    from sim.flow.experiment import breakdown, roofline_gaps
    fast = _record("fc1", 1000, 950, 500)
    slow = _record("fc2", 700, 200, 100)
    slow.per_accelerator = _counters(700, **parts)
    array = ArrayParams(32, 32)
    parts_of = breakdown(slow, array)
    assert parts_of["weight_loading"] + parts_of["weight_wait"] == slow.slowest["weight_wait"]
    if "compute" in parts:
        assert (parts_of["weight_loading"], parts_of["tile_period_excess"]) == (199 * 17, 199)
    gaps = roofline_gaps([LayerReport(fast, fast, breakdown={}, placement={}),
                          LayerReport(slow, fast, breakdown={}, placement={})], array)
    print(gaps)
    assert len(gaps) == 1 and gaps[0].startswith("pruned fc2: 29% of its bus bound, 500 cycles above it, mostly ")
    assert cause in gaps[0]


@pytest.mark.parametrize("shape,bound,reachable", [
    ([10, 100], 209, False),      # the dense classifier at two ports: a 4-K-tile accumulation chain
    ([300, 784], 8570, True),     # LeNet's fc1 at two ports: 250 tiles at 33 cycles fit under the bus bound
])
def test_a_layer_whose_array_alone_exceeds_its_bound_says_it_cannot_reach_the_goal(shape, bound, reachable):
    from types import SimpleNamespace
    from hw.config import ArrayParams
    from hw.soc import SoCParams
    from sim.flow.experiment import roofline, roofline_gaps
    from sim.golden.perf import cycles
    array = ArrayParams(32, 32)
    floor = cycles(array, *shape, 16)["total"]
    # the flow's roofline takes the floor from the largest of the phase's blocks
    jobs = {p: SimpleNamespace(W=np.zeros((M, K)), X=np.zeros((K, 16))) for p, (M, K) in
            enumerate([shape, [shape[0] // 2, shape[1]]])}
    roof = roofline(SoCParams(accelerators=2, array=array), jobs, {"read_beats": bound, "write_beats": 0},
                    2 * bound, 0)
    assert roof.array_floor_cycles == floor and roof.bus_bound_cycles == bound
    record = _record("fc", 2 * bound, bound, 100)
    record.roofline = roof
    record.per_accelerator = _counters(2 * bound, stall=bound)
    fast = _record("fc1", 1000, 950, 500)
    [line] = roofline_gaps([LayerReport(record, fast, breakdown={}, placement={})], array)
    print(line)
    assert ("cannot reach 90% on this array" in line) == (not reachable) == (bound < 0.9 * floor)
    if not reachable:
        assert f"alone needs {floor:,} cycles for it, so {share(bound / floor)} at best" in line


def test_the_report_and_the_sweep_give_the_total_without_array_bound_layers():
    from sim.flow.experiment import _roofline_summary, point_roofline, total_roofline as run_total
    fc1 = _record("fc1", 1000, 950, 500)
    classifier = _record("classifier", 650, 209, 64)
    classifier.roofline = Roofline(bus_bound_cycles=209, compute_bound_cycles=64, cycles=650, array_floor_cycles=417)
    totals = {"baseline": run_total([fc1, classifier]), "pruned": run_total([fc1])}
    assert totals["baseline"]["array_bound_layers"] == ["classifier"] and totals["pruned"]["array_bound_layers"] == []
    text = _roofline_summary(totals)
    print(text)
    assert text.startswith("Roofline: the baseline runs at 70% of its bound (1,159 cycles")
    assert text.endswith("Leaving out the layers that cannot reach 90% on this array (below), "
                         "the baseline run at 95% without layer classifier.")
    point = point_roofline(totals)
    assert point["roofline"] == {"baseline": pytest.approx(1159 / 1650), "pruned": 0.95}
    assert point["roofline_without_array_bound"] == {"baseline": 0.95, "pruned": None}
    assert point["array_bound_layers"] == ["classifier"]

    totals["pruned"] = run_total([classifier])              # every layer array-bound: nothing left to show
    assert totals["pruned"]["without_array_bound"] is None
    assert _roofline_summary(totals).endswith("No layer of the pruned run can reach 90% on this array (below).")


def test_the_sweep_table_shows_the_roofline_without_array_bound_layers(tmp_path):
    from sim.flow.sweep import write_sweep_report
    point = {"partitions": 3, "mem_ports": 2, "speedup": 1.86, "energy_ratio": None, "cycles": 6230,
             "baseline_cycles": 11574, "bit_exact": None, "accuracy": 95.5,
             "roofline": {"baseline": 0.889, "pruned": 0.8768},
             "roofline_without_array_bound": {"baseline": 0.923, "pruned": 0.942},
             "array_bound_layers": ["classifier.5"]}
    plain = {**point, "mem_ports": 1, "roofline": {"baseline": 0.98, "pruned": 0.96},
             "roofline_without_array_bound": {"baseline": None, "pruned": None}, "array_bound_layers": []}
    write_sweep_report(tmp_path, {"array": {"rows": 32, "cols": 32}, "model": "lenet300", "batch": 16,
                                  "accelerators": 5, "points": [plain, point]})
    text = (tmp_path / "report.md").read_text()
    print(text)
    assert "| 3 | 1 | 11,574 | 6,230 | 1.86x | 9 | 98% / 96% | - / - |" in text
    assert "| 3 | 2 | 11,574 | 6,230 | 1.86x | 9 | 89% / 88% | 92% / 94% |" in text
    assert "(here classifier.5), which no memory system brings to 90%" in text


def test_energy_tables_are_named_by_their_path_in_the_repository(tmp_path):
    from sim.power.report import _shown_path
    inside = Path(__file__).resolve().parents[1] / "sim" / "power" / "tables" / "aladdin-40nm.json"
    assert _shown_path(str(inside)) == "sim/power/tables/aladdin-40nm.json"
    outside = tmp_path / "mine.json"
    assert _shown_path(str(outside)) == str(outside)
