"""Interrupts and timeouts end every child process, and never leave a build marked as done.

A real (tiny) Verilator build is started in a subprocess and interrupted with
SIGINT while its compiler runs; nothing of its process groups may survive, the
process must exit 130 with one line, and the next build must start afresh.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from sim.core import runner

REPO = Path(__file__).resolve().parent.parent
TOP_V = "module top(input wire clk, output reg q); always @(posedge clk) q <= ~q; endmodule\n"

BUILDER = textwrap.dedent("""
    import sys
    from sim.core import runner
    runner.install_interrupt_handlers()
    spec = runner.SimBuild(toplevel="top", sources=(sys.argv[1],))
    print(spec.directory, flush=True)
    runner.build(spec)
    print("built", flush=True)
""")


def _processes() -> dict:
    """pid -> (ppid, pgid, state) of every live process."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[int(entry.name)] = (int(fields[1]), int(fields[2]), fields[0])
    return out


def _descendants(pid: int, procs: dict) -> set:
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, (ppid, _, _) in procs.items() if ppid in frontier} - found
        found |= frontier
    return found


def _name(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "comm").read_text().strip()
    except OSError:
        return ""


def _survivors(pgids: set) -> set:
    return {p for p, (_, pgid, state) in _processes().items() if pgid in pgids and state != "Z"}


def test_sigint_stops_the_build_and_leaves_it_unfinished(tmp_path, monkeypatch):
    source = tmp_path / "top.v"
    source.write_text(TOP_V)
    env = {**os.environ, "PP_BUILD_DIR": str(tmp_path / "build"), "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", BUILDER, str(source)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        directory = Path(proc.stdout.readline().strip())
        deadline = time.monotonic() + 120
        children = set()
        while not children and proc.poll() is None and time.monotonic() < deadline:
            children = _descendants(proc.pid, _processes())
            time.sleep(0.05)
        assert children, "the build started no child process"
        time.sleep(0.5)                                      # let it get into the compiler
        procs = _processes()
        pgids = {procs[p][1] for p in _descendants(proc.pid, procs) | children if p in procs}
        assert pgids and proc.pid not in pgids, "children must run in their own process groups"
        start = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
        took = time.monotonic() - start
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("interrupted by SIGINT: stopped "), err
    assert "built" not in out
    assert took < 10
    deadline = time.monotonic() + 5
    while _survivors(pgids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _survivors(pgids), "a child of the interrupted build survived"
    assert not (directory / ".built").exists()

    # the next build of the same spec is not considered done: it rebuilds, from an empty directory
    monkeypatch.setattr(runner, "BUILD_ROOT", tmp_path / "build")
    monkeypatch.setattr(runner.toolchain, "setup_env", lambda simulator: None)
    seen = []

    def fake_build(spec, build_dir, wall_timeout_s):
        seen.append(sorted(p.name for p in build_dir.iterdir()) if build_dir.exists() else [])
        build_dir.mkdir(parents=True, exist_ok=True)
        runner._write_stamp(build_dir / ".built", spec.key())

    monkeypatch.setattr(runner, "_build", fake_build)
    spec = runner.SimBuild(toplevel="top", sources=(str(source),))
    assert spec.directory == directory
    assert directory.exists(), "the interrupted build left no directory; the test proves nothing"
    runner.build(spec)
    assert seen == [[]]


def test_timeout_kills_the_whole_process_group(tmp_path):
    pidfile = tmp_path / "grandchild.pid"
    with pytest.raises(subprocess.TimeoutExpired):
        runner.run_child(["sh", "-c", f"sleep 60 & echo $! > {pidfile}; wait"], timeout=1)
    grandchild = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while grandchild in _processes() and _processes()[grandchild][2] != "Z" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert grandchild not in _processes() or _processes()[grandchild][2] == "Z"
    assert not runner._CHILDREN


def test_no_child_starts_once_stopping(monkeypatch):
    monkeypatch.setattr(runner, "_stopping", False)
    assert runner.stop_children() == []
    with pytest.raises(runner.SimulationError, match="being stopped"):
        runner.run_child(["true"])


def test_sim_entry_points_stop_their_children_on_sigterm(tmp_path):
    """`python -m sim.core.lint` (any `python -m sim...`) installs the handlers by itself."""
    env = {**os.environ, "PP_BUILD_DIR": str(tmp_path / "build")}
    proc = subprocess.Popen([sys.executable, "-m", "sim.core.lint", "--rows", "16", "--cols", "16", "--blocks", "array"],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        children = set()
        while not children and proc.poll() is None and time.monotonic() < deadline:
            children = {p for p in _descendants(proc.pid, _processes()) if _name(p).startswith("verilator")}
            time.sleep(0.05)
        assert children, "the linter never started"
        procs = _processes()
        pgids = {procs[p][1] for p in children if p in procs}
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, err
    assert err.strip().splitlines() == ["interrupted by SIGTERM: stopped 1 child process (verilator)"], err
    deadline = time.monotonic() + 5
    while _survivors(pgids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _survivors(pgids)


POOL = textwrap.dedent("""
    import sys
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context
    from sim.core import runner

    def point(folder, k):
        # a sweep point's simulator: a child of the worker, in its own session
        runner.run_child(["sh", "-c", f"echo $$ > {folder}/child{k}.pid; exec sleep 60"])

    if __name__ == "__main__":
        runner.install_interrupt_handlers()
        with ProcessPoolExecutor(2, mp_context=get_context("spawn")) as pool:
            for future in [pool.submit(point, sys.argv[1], k) for k in range(2)]:
                future.result()
""")


def test_sigterm_reaches_the_children_of_pool_workers(tmp_path):
    """SIGTERM to the main process only: the sweep's pool workers and their simulators end too."""
    script = tmp_path / "pool.py"
    script.write_text(POOL)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        pidfiles = []
        while len(pidfiles) < 2 and proc.poll() is None and time.monotonic() < deadline:
            pidfiles = [p for p in tmp_path.glob("child*.pid") if p.read_text().strip()]
            time.sleep(0.1)
        assert len(pidfiles) == 2, "the workers never started their children"
        children = {int(p.read_text()) for p in pidfiles}
        workers = _descendants(proc.pid, _processes()) - children
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, err
    # one line from the run (multiprocessing's resource tracker may add its own warning)
    assert [l for l in err.splitlines() if l.startswith("interrupted")] == \
        ["interrupted by SIGTERM: stopped 2 worker processes"], err
    assert "Traceback" not in err
    deadline = time.monotonic() + 5
    alive = lambda: {p for p in children | workers if p in _processes() and _processes()[p][2] != "Z"}
    while alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(), "a worker or its child survived"
