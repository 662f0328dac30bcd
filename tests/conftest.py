"""Shared pytest set-up: an isolated build tree, simulator environment and seeded randomness.

The suite never writes the user's build tree.  Before anything imports
``sim.core.runner`` (which reads ``PP_BUILD_DIR`` once, at import), this file points
``PP_BUILD_DIR`` at a fresh temporary directory for the session; subprocesses
inherit it.  Reports and run directories live there and are removed after a
passing session (kept, and named, after a failing one).

Caches whose keys cover everything that produced the entry (parameters,
sources, the code that builds them, tool versions) are safe to share between
sessions, so they are linked into the session tree from one persistent test
cache, ``build/test-cache`` (or ``$PP_TEST_CACHE``): generated Verilog,
simulator builds, the raw harness, power-capture netlists, trained baselines
and the flow's prepared models (keyed by their code's source hash and
torch's version; an unreadable entry is rebuilt).

At the end of the session every file of the user's build tree outside the test
cache must be exactly as it was at the start, or the session fails.
"""

import os
import shutil
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
USER_BUILD = REPO_ROOT / "build"
TEST_CACHE = Path(os.environ.get("PP_TEST_CACHE", USER_BUILD / "test-cache")).resolve()
SHARED_CACHES = ("verilog", "sim_build", "raw", "power", "checkpoints", "flow")


def _session_build_dir() -> Path:
    """A fresh PP_BUILD_DIR whose content-addressed caches link to the test cache."""
    root = Path(tempfile.mkdtemp(prefix="pp-tests-"))
    for name in SHARED_CACHES:
        (TEST_CACHE / name).mkdir(parents=True, exist_ok=True)
        (root / name).symlink_to(TEST_CACHE / name, target_is_directory=True)
    return root


SESSION_BUILD = _session_build_dir()
os.environ["PP_BUILD_DIR"] = str(SESSION_BUILD)

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from sim.core import toolchain  # noqa: E402


def user_tree_snapshot() -> dict:
    """(size, mtime) of every file of the user's build tree outside the test cache."""
    if not USER_BUILD.is_dir():
        return {}
    snapshot = {}
    for dirpath, dirnames, filenames in os.walk(USER_BUILD):
        here = Path(dirpath)
        dirnames[:] = [d for d in dirnames if (here / d).resolve() != TEST_CACHE]
        for name in filenames:
            with_stat = (here / name).lstat()
            snapshot[str((here / name).relative_to(REPO_ROOT))] = (with_stat.st_size, with_stat.st_mtime_ns)
    return snapshot


def pytest_configure(config):
    toolchain.setup_env("verilator")
    config._pp_user_tree = user_tree_snapshot()


def pytest_sessionfinish(session, exitstatus):
    before = getattr(session.config, "_pp_user_tree", None)
    if before is not None:
        after = user_tree_snapshot()
        changed = sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
        if changed:
            print(f"\nerror: the tests changed the user's build tree: {', '.join(changed[:10])}")
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if session.exitstatus == 0:
        shutil.rmtree(SESSION_BUILD, ignore_errors=True)
    else:
        print(f"\nthis session's build tree is kept: {SESSION_BUILD}")


@pytest.fixture
def rng(request):
    """A numpy Generator whose seed is printed, so any failure can be replayed.

    Override with PP_SEED=<int>; otherwise the seed is derived from the test id
    (stable across runs).
    """
    seed = int(os.environ.get("PP_SEED", _stable_seed(request.node.nodeid)))
    print(f"[seed] {request.node.nodeid}: PP_SEED={seed}")
    return np.random.default_rng(seed)


def _stable_seed(text: str) -> int:
    import zlib
    return zlib.crc32(text.encode()) & 0x7FFFFFFF
