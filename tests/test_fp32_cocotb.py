"""Generated FP32 Verilog against Berkeley SoftFloat, through cocotb.

Each case streams the full oracle set -- uniform random bit patterns,
subnormal-heavy, cancellation-heavy (adder) and the TestFloat level-1
boundary set (all 14,400 pairs) -- one operation per cycle through the
generated module on Verilator or Icarus, and requires zero mismatches.
"""

import pytest

from hw.fp32 import FPParams
from sim.designs.fp import fp_units
from sim.golden import fp32 as golden

CASES = [
    # (simulator, op, latency, ftz, random vectors per set)
    ("verilator", "mul", 2, False, 40000),
    ("verilator", "add", 2, False, 40000),
    ("verilator", "mul", 1, False, 10000),
    ("verilator", "add", 1, False, 10000),
    ("verilator", "mul", 4, False, 10000),
    ("verilator", "add", 5, False, 10000),
    ("verilator", "mul", 2, True, 10000),
    ("verilator", "add", 2, True, 10000),
    ("icarus", "mul", 2, False, 20000),
    ("icarus", "add", 2, False, 20000),
]


@pytest.mark.parametrize("simulator,op,latency,ftz,n_random", CASES,
                         ids=[f"{c[0]}-{c[1]}-L{c[2]}{'-ftz' if c[3] else ''}" for c in CASES])
def test_unit_against_softfloat(simulator, op, latency, ftz, n_random, rng, tmp_path):
    a, b = golden.regression_set(op, rng, n_random)
    expected = golden.softfloat(op, a, b, ftz=ftz)
    report = fp_units.run_vectors(op, FPParams(latency=latency, ftz=ftz), a, b, expected,
                                  simulator=simulator, run_dir=tmp_path)
    assert report["vectors"] == a.size
    assert report["mismatches"] == 0, report["examples"]
    # One operation per cycle: the stream takes count + pipeline-drain cycles per chunk.
    chunks = -(-a.size // (1 << 14))
    assert report["cycles"] <= a.size + chunks * (latency + 2)


def test_mismatch_is_detected(rng, tmp_path):
    """The bench must fail when the expected values are wrong (guards the checker)."""
    a, b = golden.boundary_pairs()
    expected = golden.softfloat("mul", a, b)
    expected[123] ^= 1
    from sim.core.runner import SimulationError
    with pytest.raises(SimulationError, match="cocotb tests failed"):
        fp_units.run_vectors("mul", FPParams(latency=2), a, b, expected,
                             simulator="verilator", run_dir=tmp_path)
    report = (tmp_path / "report.json").read_text()
    assert '"mismatches": 1' in report
