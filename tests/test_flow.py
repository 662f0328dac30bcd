"""End-to-end flow on a small SoC: pruned LeNet-300-100 FC layers on 2 accelerators.

Uses 4x4 arrays and a batch of 16 so the regression stays fast; `make sim`
runs the paper's 32x32 arrays.  Checks the report contract (docs/architecture.md, "make sim report"),
bit-exactness of every output, hardware vs torch accuracy on the batch, and
the one-line errors for bad input (nothing half-written).
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sim.core.runner import BUILD_ROOT


def run_flow(*args):
    return subprocess.run([sys.executable, "-m", "sim.flow", *args], capture_output=True, text=True, timeout=1800)


USER_REPORT = Path(__file__).resolve().parent.parent / "build" / "sim" / "P2" / "report.json"


@pytest.fixture
def user_report():
    """The user's own build/sim/P2/report.json (a sentinel when there is none), which the
    flow run below must leave byte for byte unchanged: the suite runs in its own build tree."""
    created = not USER_REPORT.exists()
    if created:
        USER_REPORT.parent.mkdir(parents=True, exist_ok=True)
        USER_REPORT.write_text('{"sentinel": "the user\'s report; tests must not replace it"}\n')
    before = USER_REPORT.read_bytes()
    yield before
    assert USER_REPORT.read_bytes() == before, "the tests overwrote the user's report"
    if created:
        USER_REPORT.unlink()
        for parent in (USER_REPORT.parent, USER_REPORT.parent.parent):
            if not any(parent.iterdir()):
                parent.rmdir()


def test_small_flow_report(user_report):
    done = run_flow("--partitions", "2", "--rows", "4", "--cols", "4", "--batch", "16")
    assert done.returncode == 0, done.stderr[-2000:]
    assert USER_REPORT.read_bytes() == user_report
    out = BUILD_ROOT / "sim" / "P2"
    report = json.loads((out / "report.json").read_text())
    for key in ("partitions", "accelerators", "array", "simulator", "model", "accuracy", "layers", "totals",
                "correctness"):
        assert key in report, key
    for key in ("baseline_cycles", "cycles", "speedup", "baseline_energy_pj", "energy_pj", "energy_ratio"):
        assert report["totals"][key] is not None and report["totals"][key] > 0, key
    assert report["partitions"] == 2 and report["accelerators"] == 2
    assert set(report["accuracy"]) >= {"baseline", "pruned", "retrained"}
    assert report["correctness"]["bit_exact"] is True
    assert report["predictions_match_torch"] == {"baseline": True, "pruned": True}
    assert report["hardware_accuracy"] == report["torch_accuracy"]
    layers = report["layers"]
    assert [l["partitioned"] for l in layers] == [True, True, False]     # the classifier stays dense
    assert all(l["accelerators"] == 2 for l in layers[:2])
    # pruning into 2 blocks removes half the weights of the partitioned layers
    for l in layers[:2]:
        assert l["nonzero_weights"] <= (l["shape"][0] * l["shape"][1]) // 2 + l["shape"][0]
    assert report["totals"]["speedup"] > 1.5
    for name in ("report.md", "cycles_per_layer.png", "energy.png"):
        assert (out / name).stat().st_size > 0


def test_paper_scale_path_at_small_widths(tmp_path):
    """SCALE=paper's code path (FC shapes instead of a trained model) at widths a test affords;
    its phases simulated one at a time and three at once give the same cycles, counter for counter."""
    small = ["--scale", "paper", "--fc-dims", "72,40,40,10", "--partitions", "2", "--rows", "4", "--cols", "4",
             "--batch", "4"]
    done = run_flow(*small, "--jobs", "1")
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads((BUILD_ROOT / "sim" / "paper-P2" / "report.json").read_text())
    assert report["synthetic"] is True and report["model"] == "tinyvgg16-fc"
    assert [l["shape"] for l in report["layers"]] == [[40, 72], [40, 40], [10, 40]]
    assert [l["partitioned"] for l in report["layers"]] == [True, True, False]
    assert report["correctness"]["bit_exact"] is True
    assert report["predictions_match_torch"] == {"baseline": True, "pruned": True}
    assert 0 <= report["accuracy"]["pruned_agrees_with_unpruned"] <= 100
    assert report["totals"]["speedup"] > 1.0
    assert "SCALE=paper" in (BUILD_ROOT / "sim" / "paper-P2" / "report.md").read_text()

    parallel = run_flow(*small, "--jobs", "3", "--out", str(tmp_path / "parallel"))
    assert parallel.returncode == 0, parallel.stderr[-2000:]
    other = json.loads((tmp_path / "parallel" / "report.json").read_text())
    keys = ("name", "cycles", "phase_cycles", "inter_layer_cycles", "per_accelerator", "dram", "bit_exact")
    for run in (lambda l: l, lambda l: l["baseline"]):           # pruned, then baseline records
        assert [{k: run(l)[k] for k in keys} for l in report["layers"]] == \
               [{k: run(l)[k] for k in keys} for l in other["layers"]]
    assert other["totals"]["cycles"] == report["totals"]["cycles"]


def test_toggle_capture_prices_every_component():
    """POWER=toggles: the flat SoC's toggle coverage, classified per component, priced per layer."""
    done = run_flow("--partitions", "2", "--rows", "4", "--cols", "4", "--batch", "4", "--power", "toggles")
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads((BUILD_ROOT / "sim" / "P2" / "report.json").read_text())
    assert report["correctness"]["bit_exact"] is True
    assert "toggle capture" in report["energy"]["method"]
    for layer in report["layers"]:
        for record in (layer, layer["baseline"]):
            toggles = record["toggles"]
            for component in ("pe", "array", "scratchpad", "dma", "bus", "csr", "control", "fp_units"):
                assert sum(toggles[component].values()) > 0, (layer["name"], component)
    for table, components in report["energy"]["layers"][0]["components_pj"].items():
        assert components["register_toggles"] > 0 and components["wire_toggles"] > 0, (table, components)


def test_flow_on_icarus():
    """SIM=icarus end to end (small widths: Icarus is far slower than Verilator)."""
    done = run_flow("--scale", "paper", "--fc-dims", "24,16,16,8", "--partitions", "2", "--rows", "4",
                    "--cols", "4", "--batch", "2", "--sim", "icarus")
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads((BUILD_ROOT / "sim" / "paper-P2" / "report.json").read_text())
    assert report["simulator"] == "icarus"
    assert report["correctness"]["bit_exact"] is True
    assert report["predictions_match_torch"] == {"baseline": True, "pruned": True}


def test_paper_dims_are_tinyvgg16s_fc_layers():
    import torch.nn as nn
    from sim.flow.model import PAPER_FC_DIMS
    from sw.models import TinyVGG16
    linears = [m for m in TinyVGG16().classifier if isinstance(m, nn.Linear)]
    assert PAPER_FC_DIMS == (linears[0].in_features, *[m.out_features for m in linears])


@pytest.mark.parametrize("args,message", [
    (["--partitions", "0"], "PARTITIONS must be an integer from 1 to 16"),
    (["--partitions", "5", "--scale", "paper", "--fc-dims", "8,4,4,2"], "larger than layer"),
    (["--partitions", "17", "--rows", "4", "--cols", "4"], "PARTITIONS must be an integer from 1 to 16"),
    (["--partitions", "3", "--mem-ports", "5"], "MEM_PORTS must be one of 1, 2, 3, 4, 8"),
    (["--partitions", "16", "--mem-ports", "3", "--rows", "4", "--cols", "4"], "1 to 32 masters"),
    (["--partitions", "2", "--mem-ports", "2", "--rows", "48", "--cols", "48"], "power-of-two number of bus beats"),
    (["--partitions", "3", "--sweep", "--rows", "0"], "ROWS must be an integer from 1 to 256"),
    (["--partitions", "3", "--batch", "0"], "BATCH must be an integer from 1 to 4096"),
    (["--partitions", "3", "--data", "/nonexistent/data.npz"], "DATA=/nonexistent/data.npz is neither"),
    (["--partitions", "3", "--fc-dims", "8,4"], "--fc-dims goes with SCALE=paper"),
    (["--model", "/nonexistent/model.py:build"], "model file not found"),
    (["--model", "{nolinear}"], "no nn.Linear"),
    (["--model", "{notamodule}"], "not a torch.nn.Module"),
    (["--model", "{wrongshape}", "--data", "digits"], "does not fit the data: digits inputs are (1, 8, 8)"),
])
def test_flow_bad_input(args, message, tmp_path):
    model = tmp_path / "models.py"
    model.write_text("import torch.nn as nn\n\n"
                     "def conv_only():\n    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten())\n\n"
                     "def not_a_module():\n    return 42\n\n"
                     "def wrong_shape():\n    return nn.Sequential(nn.Flatten(), nn.Linear(784, 20), nn.ReLU(), nn.Linear(20, 10))\n")
    names = {"{nolinear}": "conv_only", "{notamodule}": "not_a_module", "{wrongshape}": "wrong_shape"}
    args = [f"{model}:{names[a]}" if a in names else a for a in args]
    out = BUILD_ROOT / "sim" / (("paper-" if "paper" in args else "") +
                                f"P{args[1] if args[0] == '--partitions' else 3}")
    before = out.exists() and (out / "report.json").read_text()
    done = run_flow(*args)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines[-1].startswith("error:") and message in lines[-1], done.stderr
    assert "Traceback" not in done.stderr
    after = out.exists() and (out / "report.json").read_text()
    assert before == after, "a failed run must not write a report"


def test_sweep_report():
    """`make sweep` at 4x4 and P <= 2: every point bit-exact, the figure and tables written."""
    done = run_flow("--sweep", "--max-partitions", "2", "--rows", "4", "--cols", "4", "--batch", "4")
    assert done.returncode == 0, done.stderr[-2000:]
    out = BUILD_ROOT / "sim" / "sweep"
    report = json.loads((out / "report.json").read_text())
    assert report["array"] == {"rows": 4, "cols": 4} and report["accelerators"] == 2
    points = {(p["partitions"], p["mem_ports"]): p for p in report["points"]}
    assert sorted(points) == [(1, 1), (1, 2), (2, 1), (2, 2)]
    assert all(p["bit_exact"] for p in points.values())
    for ports in (1, 2):
        one, two = points[1, ports], points[2, ports]
        # P = 1 runs the same dense shapes as the baseline on a SoC with an idle
        # accelerator: the only extra cycles are the host's gather/scatter
        assert one["cycles"] == one["baseline_cycles"] + one["inter_layer_cycles"]
        assert two["baseline_cycles"] == one["baseline_cycles"]
        assert two["speedup"] > 1.5 and two["energy_ratio"] > 1.0
    # at 4x4 and batch 4 a tile holds the array 5 cycles (min_tile_period) against the compute bound's
    # max(N, R) = 4: the baseline's fc1 and fc2 are array-bound, and at two ports its classifier too
    for p in points.values():
        assert 0 < p["roofline"]["pruned"] <= 1
        assert {"classifier.1", "classifier.3"} <= set(p["array_bound_layers"])
        for fraction in p["roofline_without_array_bound"].values():
            assert fraction is None or 0 < fraction <= 1
    assert points[1, 1]["roofline_without_array_bound"]["baseline"] > points[1, 1]["roofline"]["baseline"]
    assert points[1, 2]["roofline_without_array_bound"] == {"baseline": None, "pruned": None}
    text = (out / "report.md").read_text()
    assert "(here classifier.1, classifier.3, classifier.5), which no memory system brings to 90%" in text
    assert text.count("| 2 |") >= 2 and "speedup_energy_vs_p.png" in text
    assert (out / "speedup_energy_vs_p.png").stat().st_size > 0
