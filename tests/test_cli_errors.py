"""Bad input to the simulation CLIs: one ``error: ...`` line on stderr, exit 2, nothing built or written.

(``python -m sw`` is covered in tests/test_sw_cli.py.)
"""

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TESTDATA = REPO / "sim" / "power" / "testdata"


def _limit_memory():
    """4 GiB of address space: allocating a huge operand before checking it fails loudly."""
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))


def run_module(module, *args, tmp_path):
    env = {**os.environ, "PP_BUILD_DIR": str(tmp_path / "build")}
    return subprocess.run([sys.executable, "-m", module, *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120, preexec_fn=_limit_memory)


def assert_one_error_line(done, match):
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr[-2000:]
    assert match in lines[0], lines[0]


@pytest.mark.parametrize("args,match", [
    (["--m", "65535", "--k", "65535", "--n", "4"], "elements; at most"),
    (["--m", "60000", "--k", "1000", "--n", "4", "--rows", "1", "--cols", "1"], "does not fit the scratchpads"),
    (["--m", "4", "--k", "4", "--n", "4", "--rows", "0"], "--rows must be from 1 to 256"),
    (["--m", "4", "--k", "x", "--n", "4"], "--k must be an integer"),
    (["--m", "4", "--k", "4", "--n", "4", "--seed", "-1"], "--seed must be from 0"),
    (["--m", "4", "--k", "4", "--n", "4", "--sim", "ghdl"], "invalid choice"),
])
def test_sim_gemm_bad_input(tmp_path, args, match):
    full = ["gemm", "--rows", "4", "--cols", "4", *args]
    done = run_module("sim", *full, tmp_path=tmp_path)
    assert_one_error_line(done, match)
    assert not (tmp_path / "build").exists(), "nothing may be generated or built for bad input"


@pytest.mark.parametrize("args,match", [
    (["--coverage", "COV", "--verilog", "OTHER"], "--verilog needs --top"),
    (["--coverage", "COV", "--verilog", "OTHER", "--top", "missing", "--scope", "fp_stream_tb.dut"],
     "module 'missing' not found"),
    (["--coverage", "COV", "--no-such-option"], "unrecognized arguments"),
    (["--coverage", "COV", "--vcd", "x.vcd"], "not allowed with argument"),
])
def test_sim_power_bad_input(tmp_path, args, match):
    other = tmp_path / "other.v"
    other.write_text("module other(input wire clk, output reg q);\n  always @(posedge clk) q <= ~q;\nendmodule\n")
    args = [str(TESTDATA / "coverage_v5048.dat") if a == "COV" else str(other) if a == "OTHER" else a for a in args]
    assert_one_error_line(run_module("sim.power", *args, tmp_path=tmp_path), match)


@pytest.mark.parametrize("args,match", [
    (["--blocks", "pe,bogus"], "unknown block 'bogus'"),
    (["--blocks", ""], "unknown block"),
    (["--rows", "0"], "rows must be an integer from 1 to 256"),
    (["--cols", "x"], "invalid int value"),
])
def test_sim_lint_bad_input(tmp_path, args, match):
    done = run_module("sim.core.lint", *args, tmp_path=tmp_path)
    assert_one_error_line(done, match)
    assert "lint " not in done.stdout, "nothing may be linted when an argument is bad"


@pytest.mark.parametrize("threads", ["x", "0", "65"])
def test_bad_threads_setting_is_one_line_before_anything_runs(tmp_path, monkeypatch, threads):
    monkeypatch.setenv("THREADS", threads)
    done = run_module("sim.flow", "--partitions", "2", "--rows", "4", "--cols", "4", tmp_path=tmp_path)
    assert_one_error_line(done, "THREADS must be an integer from 1 to 64")
    assert not (tmp_path / "build").exists()
