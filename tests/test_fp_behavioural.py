"""FP=behavioural (sim/designs/fp/fp_behavioural.py): the C model is bit-exact with the RTL FP
units by construction; checked here against Berkeley SoftFloat on the soak vectors
(with the rule the RTL units are held to), and a SoC phase with behavioural PEs
against the same phase with the RTL PEs: identical outputs, counters and cycles."""

import ctypes
import shutil
import subprocess

import numpy as np
import pytest

from hw.config import ArrayParams
from hw.soc import SoCParams
from sim.designs.fp.fp_behavioural import C_MODEL
from sim.golden import fp32 as golden
from sim.designs.fp.soak import soak_vectors
from sim.designs.soc.soc_driver import LayerJob, run_phase


@pytest.fixture(scope="module")
def c_model(tmp_path_factory):
    compiler = shutil.which("c++") or shutil.which("g++")
    if compiler is None:
        pytest.fail("no C++ compiler: Verilator needs one too")
    lib = tmp_path_factory.mktemp("fp32_dpi") / "fp32_dpi.so"
    subprocess.run([compiler, "-shared", "-fPIC", "-O2", "-ffp-contract=off", str(C_MODEL), "-o", str(lib)],
                   check=True)
    model = ctypes.CDLL(str(lib))
    for fn in (model.pp_fp32_mul, model.pp_fp32_add):
        fn.argtypes, fn.restype = [ctypes.c_uint, ctypes.c_uint], ctypes.c_uint
    return {"mul": model.pp_fp32_mul, "add": model.pp_fp32_add}


@pytest.mark.parametrize("op", ["mul", "add"])
def test_c_model_against_softfloat(op, c_model, rng):
    a, b = soak_vectors(op, 100_000, rng)
    pa, pb = golden.boundary_pairs()
    a, b = np.concatenate([a, pa]), np.concatenate([b, pb])
    fn = c_model[op]
    got = np.fromiter((fn(int(x), int(y)) for x, y in zip(a, b)), np.uint32, a.size)
    bad = golden.mismatches(got, golden.softfloat(op, a, b))
    assert bad.size == 0, f"{bad.size} mismatches, first a={a[bad[0]]:#010x} b={b[bad[0]]:#010x}"
    nans = golden.is_nan(got)
    assert nans.any() and np.all(got[nans] == 0x7FC00000)       # canonical NaN, and the vectors had some


def test_soc_phase_identical_to_rtl(rng, tmp_path):
    params = SoCParams(accelerators=2, array=ArrayParams(4, 4))
    W = rng.standard_normal((10, 13)).astype(np.float32)
    X = rng.standard_normal((13, 6)).astype(np.float32)
    X[0, 0], X[1, 1] = np.float32(1e-40), np.float32(np.inf)     # a subnormal and an infinity on the way
    jobs = {0: LayerJob(W, X, rng.standard_normal(10).astype(np.float32), True),
            1: LayerJob(W[::-1].copy(), X, None, False)}
    runs = {fp: run_phase(params, jobs, run_dir=tmp_path / fp, fp=fp) for fp in ("rtl", "behavioural")}
    assert runs["rtl"]["phase_cycles"] == runs["behavioural"]["phase_cycles"]
    for i in ("0", "1"):
        rtl, beh = runs["rtl"]["accelerators"][i], runs["behavioural"]["accelerators"][i]
        assert np.array_equal(rtl["Y"].view(np.uint32), beh["Y"].view(np.uint32))
        assert rtl["counters"] == beh["counters"]
        assert (rtl["start"], rtl["finish"]) == (beh["start"], beh["finish"])
