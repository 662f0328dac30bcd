"""The flow's progress lines for long phases: cycles so far, rate and time left."""

import json
import time

from sim.flow import experiment as flow


def test_progress_log_reads_the_bench_file(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(flow, "PROGRESS_SECONDS", 0.05)
    path = tmp_path / "progress.json"
    with flow.ProgressLog("pruned layer fc1", path, expected=100_000):
        time.sleep(0.12)                  # no file yet: nothing is logged
        path.write_text(json.dumps({"cycles": 40_000}))
        time.sleep(0.2)
    lines = [l for l in capsys.readouterr().err.splitlines() if "pruned layer fc1" in l]
    assert lines, "no progress line"
    assert "40,000 of ~100,000 cycles" in lines[-1] and "cycles/s" in lines[-1] and "min left" in lines[-1]

