"""The shipped example models through the whole flow on 4x4 arrays, against torch.

Each example trains on scikit-learn's 8x8 digits, is partition-pruned into two
blocks, and runs its Linear layers on a two-accelerator SoC.  The run must be
verified: every hardware output bit-exact against the golden model, the golden
model within the float32 bound of torch's own layers (after the ReLU it fuses),
and the hardware's predictions equal to torch's forward pass.  A deliberately
wrong fusion must make the run fail.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SMALL = ["--data", "digits", "--partitions", "2", "--rows", "4", "--cols", "4", "--batch", "8"]

# per example: {layer: fused ReLU}, the layers whose input the host computes from accelerator
# outputs, and the layers whose partitions are aligned with the layer feeding them
EXPECTED = {
    "functional_relu_mlp": ({"fc1": "F.relu", "fc2": "Tensor.relu", "out": None}, set(), {"fc2"}),
    "cnn_fc_head": ({"head.1": "nn.ReLU", "head.4": "nn.ReLU", "head.6": None}, set(), {"head.4"}),
    "residual_gelu_mlp": ({"embed": "F.relu", "fc_a": None, "fc_b": None, "classifier": None},
                          {"fc_b", "classifier"}, {"fc_a"}),
    "tiny_transformer": ({n: None for n in ("embed", "query", "key", "value", "proj", "ff1", "ff2", "classifier")},
                         {"query", "key", "value", "proj", "ff1", "ff2", "classifier"}, set()),
}


def run_flow(*args):
    return subprocess.run([sys.executable, "-m", "sim.flow", *args], capture_output=True, text=True, timeout=1800)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs_verified_on_the_soc(name, tmp_path):
    done = run_flow("--model", f"{EXAMPLES / name}.py:build", *SMALL, "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "report.json").read_text())
    assert list(report)[0] == "verdict" and report["verdict"] == {"ok": True, "reasons": []}
    assert report["predictions_match_torch"] == {"baseline": True, "pruned": True}
    assert report["correctness"]["bit_exact"] is True
    fused, host_fed, aligned = EXPECTED[name]
    layers = {l["name"]: l for l in report["layers"]}
    assert list(layers) == list(fused), "layers run in torch's call order"
    for lname, layer in layers.items():
        assert layer["fused"] == ([fused[lname]] if fused[lname] else []), lname
        assert layer["host_ops_charged"] == (lname in host_fed), lname
        assert (layer["host_op_cycles"] > 0) == (lname in host_fed), lname
        assert layer["aligned_with_input"] == (lname in aligned), lname
        for record in (layer, layer["baseline"]):
            assert record["golden_vs_torch"]["within_bound"], (lname, record["golden_vs_torch"])
    # every prunable layer (all but the classifier, the last Linear registered) ran as two blocks
    assert [l["partitioned"] for l in report["layers"]] == [n != list(fused)[-1] for n in fused]
    assert "Verified" in (tmp_path / "report.md").read_text().splitlines()[2]
    check_roofline(report)
    sim = report["simulation"]
    assert sim["wall_seconds"] > 0 and sim["baseline"]["cycles_per_second"] > 0
    assert sim["pruned"]["cycles"] == sum(l["phase_cycles"] for l in report["layers"])
    assert set(sim["by_soc"]) == {"1 accelerator", "2 accelerators"}


def check_roofline(report):
    """Each layer's compute bound is what the RTL's compute counter measured, no run beats
    its bound, and the totals add the layers up."""
    for kind in ("baseline", "pruned"):
        for layer in report["layers"]:
            record = layer if kind == "pruned" else layer["baseline"]
            roof = layer["roofline"][kind]
            assert roof["compute_bound_cycles"] == max(a["compute"] for a in record["per_accelerator"].values())
            assert roof["compute_bound_cycles"] <= roof["array_floor_cycles"] <= roof["cycles"]
            assert max(roof["bus_bound_cycles"], roof["compute_bound_cycles"]) <= roof["cycles"] == record["cycles"]
        for layer in report["layers"]:                  # a line saying why, exactly where below 90 %
            below = layer["roofline"][kind]["roofline_fraction"] < 0.9
            lines = [g for g in report["roofline_gaps"] if g.startswith(f"{kind} {layer['name']}: ")]
            assert len(lines) == (1 if below else 0), (kind, layer["name"], report["roofline_gaps"])
            assert all(", mostly " in line for line in lines), lines
        total = report["totals"]["roofline"][kind]
        assert total["cycles"] == report["totals"]["cycles" if kind == "pruned" else "baseline_cycles"]
        assert 0 < total["roofline_fraction"] <= 1
        # the array-bound layers: their array alone needs more than bound / 0.9, and their lines say so
        bound_by_array = [l["name"] for l in report["layers"]
                          if max(l["roofline"][kind]["bus_bound_cycles"], l["roofline"][kind]["compute_bound_cycles"])
                          < 0.9 * l["roofline"][kind]["array_floor_cycles"]]
        assert total["array_bound_layers"] == bound_by_array
        for name in bound_by_array:
            [line] = [g for g in report["roofline_gaps"] if g.startswith(f"{kind} {name}: ")]
            assert "cannot reach 90% on this array" in line
        assert (total["without_array_bound"] is None) == (len(bound_by_array) in (0, len(report["layers"])))
        if total["without_array_bound"]:
            rest = [l["roofline"][kind] for l in report["layers"] if l["name"] not in bound_by_array]
            assert total["without_array_bound"]["cycles"] == sum(r["cycles"] for r in rest)


def test_a_wrong_fusion_fails_the_run(tmp_path, monkeypatch, capsys):
    """Claim that residual_gelu_mlp's GELU is a ReLU the accelerator may fuse: the
    hardware then computes another network, which torch's per-layer values expose
    (its predictions on this batch happen to agree, so a prediction check alone
    would pass it)."""
    import torch.nn.functional as F

    from sim.flow import experiment as flow, model as flow_model
    from sw import graph

    relu_kind = graph.relu_kind
    monkeypatch.setattr(graph, "relu_kind",
                        lambda gm, node: "F.relu" if node.target is F.gelu else relu_kind(gm, node))
    monkeypatch.setattr(flow_model, "_cached", lambda path, message, progress, make: make())  # cache nothing
    rc = flow.main(["--model", f"{EXAMPLES / 'residual_gelu_mlp'}.py:build", *SMALL, "--out", str(tmp_path)])
    assert rc == 1
    assert "error: the run is not correct: baseline layer fc_a: the golden model differs from torch" \
        in capsys.readouterr().err
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["verdict"]["ok"] is False
    assert report["correctness"]["bit_exact"] is True          # the hardware did what it was told
    assert (tmp_path / "report.md").read_text().splitlines()[2] == "**FAILED: this run is not correct.**"
