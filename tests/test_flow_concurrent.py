"""Two flows at once on the same 4x4 SoC: own scratch folders, shared caches written
atomically, and a report folder that is only ever one whole report."""

import json
import subprocess
import sys

SMALL = ["--scale", "paper", "--fc-dims", "24,16,16,8", "--partitions", "2", "--rows", "4", "--cols", "4",
         "--batch", "2"]


def test_two_flows_at_once(tmp_path):
    outs = [tmp_path / "shared", tmp_path / "shared", tmp_path / "own"]
    runs = [subprocess.Popen([sys.executable, "-m", "sim.flow", *SMALL, "--seed", str(seed), "--out", str(out)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for seed, out in zip((0, 1, 0), outs)]
    for run in runs:
        _, err = run.communicate(timeout=1200)
        assert run.returncode == 0, err[-2000:]
    reports = {out: json.loads((out / "report.json").read_text()) for out in set(outs)}
    for report in reports.values():
        assert report["verdict"]["ok"] and report["correctness"]["bit_exact"]
    # the shared folder holds one of the two runs whole, its markdown and figures beside it
    shared = tmp_path / "shared"
    assert {p.name for p in shared.iterdir()} == {"report.json", "report.md", "cycles_per_layer.png", "energy.png"}
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []     # no temporaries left
    assert reports[tmp_path / "own"]["totals"]["cycles"] > 0
