"""FP32 units in the Amaranth simulator: fast checks of every latency setting.

These exercise the Python-level design directly (no Verilog); the cocotb
tests run the generated Verilog against SoftFloat on far larger sets.
"""

import numpy as np
import pytest
from amaranth.hdl import ClockDomain, Module
from amaranth.sim import Simulator

from hw.fp32 import FPAdd, FPMul, FPParams
from sim.golden import fp32 as golden

UNITS = {"mul": FPMul, "add": FPAdd}


def simulate(dut, a, b, gaps=None):
    """Drive (a[i], b[i]) with optional idle cycles; record (cycle, result) outputs."""
    gaps = np.zeros(len(a), int) if gaps is None else gaps
    issued, outputs = [], []

    async def bench(ctx):
        cycle = 0
        for i in range(len(a)):
            for _ in range(int(gaps[i])):
                ctx.set(dut.in_valid, 0)
                await ctx.tick()
                cycle += 1
                if ctx.get(dut.out_valid):
                    outputs.append((cycle, ctx.get(dut.result)))
            ctx.set(dut.a, int(a[i]))
            ctx.set(dut.b, int(b[i]))
            ctx.set(dut.in_valid, 1)
            issued.append(cycle)
            await ctx.tick()
            cycle += 1
            if ctx.get(dut.out_valid):
                outputs.append((cycle, ctx.get(dut.result)))
        ctx.set(dut.in_valid, 0)
        for _ in range(dut.latency + 2):
            await ctx.tick()
            cycle += 1
            if ctx.get(dut.out_valid):
                outputs.append((cycle, ctx.get(dut.result)))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return np.array(issued), outputs


def small_set(op, rng, n=600):
    a, b = golden.regression_set(op, rng, n)
    keep = rng.choice(a.size, size=min(a.size, 4 * n), replace=False)
    return a[keep], b[keep]


@pytest.mark.parametrize("op", ["mul", "add"])
@pytest.mark.parametrize("latency", [1, 2, 3, 7])
def test_results_and_latency(op, latency, rng):
    a, b = small_set(op, rng)
    gaps = rng.integers(0, 3, a.size) * (rng.random(a.size) < 0.2)
    issued, outputs = simulate(UNITS[op](FPParams(latency=latency)), a, b, gaps)
    assert len(outputs) == a.size, "every valid input yields exactly one valid output"
    out_cycles = np.array([c for c, _ in outputs])
    # Each result appears exactly `latency` cycles after its operands.
    assert np.array_equal(out_cycles - issued, np.full(a.size, latency - 1) + 1)
    got = np.array([r for _, r in outputs], dtype=np.uint32)
    bad = golden.mismatches(got, golden.softfloat(op, a, b))
    assert bad.size == 0, [(hex(a[i]), hex(b[i]), hex(got[i])) for i in bad[:5]]


@pytest.mark.parametrize("op", ["mul", "add"])
def test_flush_to_zero_option(op, rng):
    a, b = golden.subnormal_heavy(rng, 800)
    _, outputs = simulate(UNITS[op](FPParams(latency=2, ftz=True)), a, b)
    got = np.array([r for _, r in outputs], dtype=np.uint32)
    assert golden.mismatches(got, golden.softfloat(op, a, b, ftz=True)).size == 0
    # And the default (gradual underflow) really differs on this set.
    assert golden.mismatches(got, golden.softfloat(op, a, b)).size > 0


@pytest.mark.parametrize("op", ["mul", "add"])
def test_special_values(op):
    f = lambda x: np.float32(x).view(np.uint32)
    inf, ninf, nan = f(np.inf), f(-np.inf), np.uint32(0x7FA00001)   # a signalling NaN
    pairs = [(inf, f(0.0)), (inf, ninf), (nan, f(1.0)), (f(-0.0), f(-0.0)), (f(-0.0), f(0.0)),
             (f(3.4e38), f(3.4e38)), (np.uint32(1), np.uint32(0x80000001)), (f(1.0), f(-1.0))]
    a = np.array([p[0] for p in pairs], np.uint32)
    b = np.array([p[1] for p in pairs], np.uint32)
    _, outputs = simulate(UNITS[op](FPParams()), a, b)
    got = np.array([r for _, r in outputs], dtype=np.uint32)
    expected = golden.softfloat(op, a, b)
    assert golden.mismatches(got, expected).size == 0
    assert np.all(got[golden.is_nan(expected)] == 0x7FC00000)


def test_reset_clears_pipeline():
    dut = FPMul(FPParams(latency=3))
    top = Module()
    top.domains.sync = sync = ClockDomain()
    top.submodules.dut = dut
    seen = []

    async def bench(ctx):
        ctx.set(dut.a, 0x3F800000)
        ctx.set(dut.b, 0x40000000)
        ctx.set(dut.in_valid, 1)
        await ctx.tick()
        await ctx.tick()
        ctx.set(dut.in_valid, 0)
        ctx.set(sync.rst, 1)
        await ctx.tick()
        ctx.set(sync.rst, 0)
        for _ in range(5):
            await ctx.tick()
            seen.append(ctx.get(dut.out_valid))

    sim = Simulator(top)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert seen == [0] * 5, "operations in flight at reset must not emerge afterwards"


def test_params_validation():
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError):
            FPParams(latency=bad)
