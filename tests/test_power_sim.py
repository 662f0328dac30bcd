"""The power model on real RTL activity: the FP32 multiplier streamed on Verilator and Icarus.

Each measurement streams vectors through ``fp32_mul`` (latency 2) with toggle
capture (Verilator ``--coverage-toggle``; Icarus VCD) and prices the activity
under both shipped tables.  Builds are cached in the test cache (tests/conftest.py); the module's
simulations run once each and are shared by the checks below.
"""

import numpy as np
import pytest

from sim.power import compute_energy, load_table, measure_fp_stream

TABLES = ("aladdin-40nm", "horowitz-45nm")
N = 2000
ROOT = "fp_stream_tb.dut"


def _random(n, seed):
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 1 << 32, n, dtype=np.uint64).astype(np.uint32),
            rng.integers(0, 1 << 32, n, dtype=np.uint64).astype(np.uint32))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    cache = {}

    def get(name, a, b, simulator="verilator"):
        if name not in cache:
            cache[name] = measure_fp_stream("mul", a, b, simulator=simulator,
                                            run_dir=tmp_path_factory.mktemp(name))
            assert cache[name].report["mismatches"] == 0
        return cache[name]
    return get


def test_all_zero_data_costs_only_clock_and_leakage(runs):
    zeros = np.zeros(N, np.uint32)
    m = runs("zeros", zeros, zeros)
    assert m.summary.fp_operand_toggles["fp32_mul"] == 0
    # The datapath never moves.  What toggles is the valid chain and the time-0 settling:
    # Verilator evaluates the logic once from its all-zero state, so every bit that is 1
    # for zero operands (an inverted flag, say) rises once.  At most one toggle per bit,
    # against ~1000 per bit for random data.
    inside = m.summary.by_component["fp_units"]
    bits = sum(s.bits for s in m.signals if s.hier == ROOT)
    assert inside["reg"] + inside["wire"] <= bits + 16, (inside, bits)
    for name in TABLES:
        e = compute_energy(m.activity, load_table(name))
        c = e.components
        assert c["fp_mul"] == 0 and c["register_toggles"] == 0 and c["wire_toggles"] == 0
        assert e.total_pj == pytest.approx(c["clock"] + c["leakage"], rel=1e-12)
        assert c["clock"] > 0 and c["leakage"] > 0


def test_random_multiply_lands_on_table_value(runs):
    a, b = _random(N, 1)
    m = runs("random", a, b)
    mean = m.summary.fp_operand_toggles["fp32_mul"] / N
    assert mean == pytest.approx(32, rel=0.03)          # half of 2 x 32 operand bits per op
    for name in TABLES:
        table = load_table(name)
        e = compute_energy(m.activity, table)
        per_op = e.components["fp_mul"] / N
        assert per_op == pytest.approx(table.figure("fp32_mul_pj"), rel=0.03), name
        assert e.details["fp"]["fp32_mul"]["pj_per_op"] == pytest.approx(per_op)
    # the cycles come from the design's own clock: N operations plus the pipeline and start-up
    assert N < m.activity.cycles <= N + 16


def test_energy_grows_linearly_with_repeated_work(runs):
    """Vectors V (N of them) against V twice (2N), on the same build.

    Compared: E - F, the total energy less F = (clock + leakage) over the
    cycles that are not streaming (cycles - vectors: reset, start-up and
    pipeline drain, the same in both runs).  E(2N) - F must be 2 x (E(N) - F)
    within 0.5 %: the arithmetic energy doubles (the seam between the two
    copies of V adds one operand change in 2N) and so do the streaming cycles.
    """
    a, b = _random(N, 1)
    one = runs("random", a, b)
    two = runs("random-twice", np.concatenate([a, a]), np.concatenate([b, b]))
    assert two.activity.cycles - 2 * N == one.activity.cycles - N
    for name in TABLES:
        table = load_table(name)
        e1, e2 = compute_energy(one.activity, table), compute_energy(two.activity, table)
        per_cycle = (e1.components["clock"] + e1.components["leakage"]) / one.activity.cycles
        fixed = per_cycle * (one.activity.cycles - N)
        assert (e2.total_pj - fixed) / (e1.total_pj - fixed) == pytest.approx(2.0, rel=0.005), name
        assert e2.components["fp_mul"] / e1.components["fp_mul"] == pytest.approx(2.0, rel=0.005)


def test_verilator_and_icarus_toggles_agree(runs):
    """Same design, same vectors: Verilator's toggle coverage against Icarus's VCD.

    Icarus starts un-reset registers at X; Verilator (2-state) at 0, so its
    combinational logic computes values from those zeros at time 0 that
    Icarus sees as X.  Every signal that Icarus never saw at X agrees
    exactly, flip-flops included; a signal that started at X may show up to
    one extra rise and one extra fall per bit in Verilator, and never fewer.
    """
    a, b = _random(400, 7)
    ver = runs("agree-verilator", a, b)
    ica = runs("agree-icarus", a, b, simulator="icarus")
    v = {s.path: s for s in ver.signals if s.hier.startswith(ROOT)}
    i = {s.path: s for s in ica.signals}
    assert set(v) == set(i) and len(v) > 2000
    never_x = [p for p in v if not i[p].saw_x]
    assert len(never_x) > 500
    for p in never_x:
        assert (v[p].rises, v[p].falls) == (i[p].rises, i[p].falls), p
    for p in v:
        extra_r, extra_f = v[p].rises - i[p].rises, v[p].falls - i[p].falls
        assert 0 <= extra_r == extra_f <= v[p].bits, (p, extra_r, extra_f)
    # all flip-flops agree exactly, and so does what the energy model charges them
    assert ver.summary.by_component["fp_units"]["reg"] == ica.summary.by_component["fp_units"]["reg"]
    assert ver.summary.fp_operand_toggles == ica.summary.fp_operand_toggles
    assert ver.activity.cycles == ica.activity.cycles
    wire_v = ver.summary.by_component["fp_units"]["wire"]
    wire_i = ica.summary.by_component["fp_units"]["wire"]
    assert 0 <= wire_v - wire_i <= 0.01 * wire_v
    for name in TABLES:
        t = load_table(name)
        assert compute_energy(ver.activity, t).total_pj == pytest.approx(compute_energy(ica.activity, t).total_pj)
