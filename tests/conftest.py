"""Shared pytest set-up: simulator environment and seeded randomness."""

import os

import numpy as np
import pytest

from sim import toolchain


def pytest_configure(config):
    toolchain.setup_env("verilator")


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
