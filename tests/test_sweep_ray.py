"""A sweep, and a single run's phases, on a Ray cluster: a local two-worker cluster, found through RAY_ADDRESS.

The same tiny 4x4 sweep (SCALE=paper's code path at small widths, P <= 2, one
DRAM port) runs on the cluster and on the local process pool; the points must
be verified and identical.
"""

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

SWEEP = ["--sweep", "--scale", "paper", "--fc-dims", "24,16,16,8", "--max-partitions", "2", "--ports", "1",
         "--rows", "4", "--cols", "4", "--batch", "2"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def ray_cluster(tmp_path):
    """A Ray head node with two CPUs on this machine; its address; stopped afterwards
    (its own process group only: other Ray instances on the machine are left alone).
    Ray's session folder is short-named: its Unix sockets must fit 107 characters."""
    ray = Path(sys.executable).with_name("ray")
    address = f"127.0.0.1:{_free_port()}"
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    session = Path(tempfile.mkdtemp(prefix="pp-ray-", dir="/tmp"))
    log = tmp_path / "ray-head.log"
    with open(log, "w") as out:
        head = subprocess.Popen([str(ray), "start", "--head", "--block", "--num-cpus", "2",
                                 "--include-dashboard=false", "--disable-usage-stats", "--port", address.split(":")[1],
                                 "--temp-dir", str(session)],
                                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while subprocess.run([str(ray), "status", "--address", address], env=env,
                             capture_output=True).returncode != 0:
            assert head.poll() is None, f"the Ray head node exited: {log.read_text()[-2000:]}"
            assert time.monotonic() < deadline, "the Ray head node did not come up in 120 s"
            time.sleep(2)
        yield address
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(head.pid, signal.SIGTERM)
            try:
                head.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(head.pid, signal.SIGKILL)
        shutil.rmtree(session, ignore_errors=True)


def _sweep(out: Path, env=None, *extra):
    done = subprocess.run([sys.executable, "-m", "sim.flow", *SWEEP, "--out", str(out), *extra],
                          capture_output=True, text=True, timeout=1200, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((out / "report.json").read_text())


def test_sweep_on_a_ray_cluster_equals_the_local_pool(ray_cluster, tmp_path):
    on_ray = _sweep(tmp_path / "ray", {**os.environ, "RAY_ADDRESS": ray_cluster, "RAY_USAGE_STATS_ENABLED": "0"})
    local = _sweep(tmp_path / "local", None, "--executor", "local")
    assert on_ray["executor"] == "ray" and local["executor"] == "local"
    assert [(p["partitions"], p["mem_ports"]) for p in on_ray["points"]] == [(1, 1), (2, 1)]
    assert all(p["verified"] and p["bit_exact"] for p in on_ray["points"])
    for a, b in zip(on_ray["points"], local["points"]):
        assert (a["cycles"], a["baseline_cycles"], a["energy_ratio"]) == (b["cycles"], b["baseline_cycles"],
                                                                          b["energy_ratio"])
    one = on_ray["points"][0]          # P = 1: the baseline's shapes plus the host's gather/scatter
    assert one["cycles"] == one["baseline_cycles"] + one["inter_layer_cycles"]


RUN = ["--scale", "paper", "--fc-dims", "24,16,16,8", "--partitions", "2", "--rows", "4", "--cols", "4",
       "--batch", "2"]


def test_a_single_runs_phases_on_ray_equal_the_local_ones(ray_cluster, tmp_path):
    """make sim with RAY_ADDRESS set: every phase of both chains is a Ray task."""
    reports = {}
    for name, env, extra in (("ray", {**os.environ, "RAY_ADDRESS": ray_cluster, "RAY_USAGE_STATS_ENABLED": "0"}, ()),
                             ("local", None, ("--executor", "local"))):
        out = tmp_path / name
        done = subprocess.run([sys.executable, "-m", "sim.flow", *RUN, "--out", str(out), *extra],
                              capture_output=True, text=True, timeout=1200, env=env)
        assert done.returncode == 0, done.stderr[-3000:]
        reports[name] = json.loads((out / "report.json").read_text())
    on_ray, local = reports["ray"], reports["local"]
    assert on_ray["simulation"]["phase_executor"] == "ray" and local["simulation"]["phase_executor"] == "local"
    assert on_ray["verdict"]["ok"] and on_ray["correctness"]["bit_exact"]
    keys = ("cycles", "phase_cycles", "per_accelerator", "dram", "energy_pj")
    for a, b in zip(on_ray["layers"], local["layers"]):
        assert {k: a[k] for k in keys} == {k: b[k] for k in keys}
        assert {k: a["baseline"][k] for k in keys} == {k: b["baseline"][k] for k in keys}
