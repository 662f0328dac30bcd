"""python -m sim: one command line whose --help lists every tool and whose commands reach each one."""

import subprocess
import sys

import pytest


def sim(*args):
    return subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, text=True, timeout=300)


def test_help_lists_every_command():
    done = sim("--help")
    assert done.returncode == 0
    for command in ("gemm", "flow", "sweep", "soak", "lint", "bench", "power"):
        assert command in done.stdout, command


@pytest.mark.parametrize("args,message", [
    (["flow", "--partitions", "0"], "PARTITIONS must be an integer from 1 to 16"),
    (["sweep", "--max-partitions", "0"], "--max-partitions must be an integer from 1 to 16"),
    (["lint", "--blocks", "nope"], "unknown block 'nope'"),
    (["nope"], "invalid choice: 'nope'"),
])
def test_commands_reach_their_tool(args, message):
    done = sim(*args)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("error:") and message in done.stderr, done.stderr


@pytest.mark.parametrize("command", ["flow", "soak", "bench", "power"])
def test_command_help(command):
    done = sim(command, "--help")
    assert done.returncode == 0 and "usage:" in done.stdout, done.stderr
