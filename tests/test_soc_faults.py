"""Bus faults in the middle of a layer: the DRAM model answers one read beat or one
write response with SLVERR or DECERR.  The faulted accelerator sets its bus-error
bit and stops without hanging or writing outside its output region; the other
accelerator finishes correctly; the flow reports the fault in one line."""

import os
import subprocess
import sys

import numpy as np
import pytest

from hw.config import ArrayParams
from hw.soc import SoCParams
from sim.golden.gemm import linear
from sim.designs.soc.soc_driver import LayerJob, STATUS_DONE, describe_status, run_phase

PARAMS = SoCParams(accelerators=2, array=ArrayParams(4, 4))


def _jobs(rng):
    W = rng.standard_normal((16, 40)).astype(np.float32)
    X = rng.standard_normal((40, 8)).astype(np.float32)
    return {0: LayerJob(W, X, None, False), 1: LayerJob(W[::-1].copy(), X, None, True)}


def _outside_outputs_unchanged(result, accelerators):
    """Bytes outside every accelerator's output region are as loaded."""
    before, after = result["dram_before"], result["dram_after"][:len(result["dram_before"])]
    keep = np.ones(len(before), bool)
    for i in accelerators:
        place = result["layouts"][i]
        keep[place.y_addr:place.y_addr + place.y_bytes] = False
    a, b = np.frombuffer(before, np.uint8), np.frombuffer(after, np.uint8)
    return np.array_equal(a[keep], b[keep])


@pytest.mark.parametrize("kind,n,resp", [("read", 30, 2), ("read", 60, 3), ("write", 1, 2)])
def test_fault_mid_layer(kind, n, resp, rng, tmp_path):
    jobs = _jobs(rng)
    result = run_phase(PARAMS, jobs, run_dir=tmp_path, faults={0: {kind: n, "resp": resp}}, allow_errors=True)
    status = {int(i): r["status"] for i, r in result["accelerators"].items()}
    failed = [i for i, s in status.items() if s != STATUS_DONE]
    assert len(failed) == 1, status                       # one accelerator got the faulted beat
    assert status[failed[0]] >> 8 & 0x10 and status[failed[0]] & STATUS_DONE, hex(status[failed[0]])
    assert describe_status(status[failed[0]]) == "a bus error response"
    good = 1 - failed[0]
    expected = linear(jobs[good].W, jobs[good].X, None, jobs[good].relu)
    assert np.array_equal(result["accelerators"][str(good)]["Y"].view(np.uint32), expected.view(np.uint32))
    assert _outside_outputs_unchanged(result, jobs)


def test_error_status_is_one_line_without_allow_errors(rng, tmp_path):
    from sim.core.runner import SimulationError
    with pytest.raises(SimulationError, match=r"^accelerator \d ended with status 0x10\d\d: a bus error response$"):
        run_phase(PARAMS, _jobs(rng), run_dir=tmp_path, faults={0: {"read": 30}})


def test_flow_reports_an_injected_fault_in_one_line(tmp_path):
    env = {**os.environ, "PP_INJECT_FAULT": "read:20:3"}
    done = subprocess.run([sys.executable, "-m", "sim.flow", "--scale", "paper", "--fc-dims", "24,16,16,8",
                           "--partitions", "2", "--rows", "4", "--cols", "4", "--batch", "2", "--out", str(tmp_path / "report")],
                          capture_output=True, text=True, timeout=900, env=env)
    assert done.returncode == 1, done.stderr[-2000:]
    errors = [l for l in done.stderr.splitlines() if l.startswith("error:")]
    assert len(errors) == 1 and "a bus error response" in errors[0], done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "report").exists()
