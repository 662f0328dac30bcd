"""A sweep on a Ray cluster: a local two-worker cluster, found through RAY_ADDRESS.

The same tiny 4x4 sweep (SCALE=paper's code path at small widths, P <= 2, one
DRAM port) runs on the cluster and on the local process pool; the points must
be verified and identical.
"""

import json
import os
import signal
import socket
import subprocess
import sys
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
    (its own process group only: other Ray instances on the machine are left alone)."""
    ray = Path(sys.executable).with_name("ray")
    address = f"127.0.0.1:{_free_port()}"
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    head = subprocess.Popen([str(ray), "start", "--head", "--block", "--num-cpus", "2", "--include-dashboard=false",
                             "--disable-usage-stats", "--port", address.split(":")[1],
                             "--temp-dir", str(tmp_path / "ray")],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while subprocess.run([str(ray), "status", "--address", address], env=env,
                             capture_output=True).returncode != 0:
            assert head.poll() is None, "the Ray head node exited"
            assert time.monotonic() < deadline, "the Ray head node did not come up in 120 s"
            time.sleep(2)
        yield address
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)


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
