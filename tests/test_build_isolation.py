"""The suite runs in its own build tree (tests/conftest.py), never in the user's."""

import json
import os
import subprocess
import sys
from pathlib import Path

from sim.core import runner
from sw import train

REPO = Path(__file__).resolve().parent.parent


def _inside(path, root) -> bool:
    return Path(path).resolve().is_relative_to(Path(root).resolve())


def test_build_root_is_the_session_tree():
    session = Path(os.environ["PP_BUILD_DIR"])
    assert not _inside(session, REPO)
    assert runner.BUILD_ROOT == session and train.build_dir() == session


def test_subprocesses_inherit_the_session_tree():
    code = ("import json; from sim.core.runner import BUILD_ROOT; from sw.train import build_dir; "
            "print(json.dumps([str(BUILD_ROOT), str(build_dir())]))")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    roots = json.loads(done.stdout)
    assert all(not _inside(root, REPO / "build") for root in roots), roots
    assert roots == [os.environ["PP_BUILD_DIR"]] * 2
