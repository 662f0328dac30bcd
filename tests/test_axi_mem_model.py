"""The simulation DRAM (sim/designs/mem/tb/axi_mem_model.sv) driven by cocotbext-axi.

Two Verilator builds and one Icarus build:

* ``paper``  -- the default timing (512-bit beats, READ_LATENCY 20, WRITE_LATENCY
  10, 8 outstanding, one beat per cycle shared by reads and writes), small depth;
* ``narrow`` -- 128-bit beats (so one legal burst has 256 beats = 4 KiB),
  BEAT_INTERVAL 2, split read/write budgets, 2 read / 3 write bursts
  outstanding, short latencies, 4 banks of 2 KiB rows and renamed plusargs
  (+MEM1_INIT / +MEM1_DUMP, as a second memory port would use);
* ``paper`` on Icarus for the image, traffic and error tests.

Each test runs one cocotb test of :mod:`sim.designs.mem.tb_axi_mem`; its seed is
printed by the ``rng`` fixture (replay with PP_SEED=<seed>).
"""

import pytest

from sim.core.lint import lint_verilog
from sim.designs.mem.mem_model import MODEL_SOURCE, MemModelParams, run_bench

CONFIGS = {
    "paper": MemModelParams(mem_words=4096),
    "narrow": MemModelParams(data_w=128, id_w=4, mem_words=8192, read_latency=7, write_latency=3,
                             max_outstanding=2, max_outstanding_writes=3, beat_interval=2,
                             shared_data_bus=False, row_bytes=2048, banks=4,
                             init_plusarg="MEM1_INIT", dump_plusarg="MEM1_DUMP"),
}

CASES = [
    # (simulator, config, cocotb test, options)
    ("verilator", "paper", "bulk_init", {}),
    ("verilator", "paper", "random_traffic", {"workers": 4, "ops": 60}),
    ("verilator", "narrow", "random_traffic", {"workers": 4, "ops": 30}),
    ("verilator", "paper", "errors", {}),
    ("verilator", "narrow", "errors", {}),
    ("verilator", "paper", "counters", {"ops": 30}),
    ("verilator", "narrow", "counters", {"ops": 30}),
    ("verilator", "paper", "raw_channels", {"bursts": 16}),
    ("verilator", "narrow", "raw_channels", {"bursts": 16}),
    ("icarus", "paper", "bulk_init", {}),
    ("icarus", "paper", "random_traffic", {"workers": 4, "ops": 20}),
    ("icarus", "paper", "errors", {}),
]


def seed_of(rng) -> int:
    return int(rng.integers(0, 2**31 - 1))


@pytest.mark.parametrize("simulator,config,testcase,options", CASES,
                         ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in CASES])
def test_model(simulator, config, testcase, options, rng, tmp_path):
    report = run_bench(CONFIGS[config], testcase, simulator=simulator, run_dir=tmp_path,
                       seed=seed_of(rng), options=options)
    assert report["protocol_errors"] == []
    if testcase == "random_traffic":
        # the traffic really ran with several bursts in flight and every kind of transfer
        assert report["max_read_outstanding"] >= 2, report
        assert set(report["kinds"]) >= {"single", "short", "max", "to4k", "cross"}, report["kinds"]


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    """Latency/bandwidth measurements of both Verilator builds (no backpressure)."""
    out = {}
    for name, params in CONFIGS.items():
        out[name] = run_bench(params, "latency_bandwidth", simulator="verilator",
                              run_dir=tmp_path_factory.mktemp(f"latency-{name}"))["measured"]
    return out


@pytest.mark.parametrize("config", list(CONFIGS))
def test_latency_is_exact(measured, config):
    """First R handshake READ_LATENCY edges after the AR handshake; B WRITE_LATENCY edges after the last W."""
    p, m = CONFIGS[config], measured[config]
    assert m["read_latency"] == p.read_latency
    assert m["write_latency"] == p.write_latency
    n = m["long_burst"]["beats"]
    assert n == min(256, 4096 // p.bytes_per_beat)
    assert m["long_burst"]["ar_to_last_r"] == p.read_latency + (n - 1) * p.beat_interval


def test_beat_interval_scales_bandwidth(measured):
    """BEAT_INTERVAL=2 takes twice the cycles per beat of BEAT_INTERVAL=1."""
    assert CONFIGS["paper"].beat_interval == 1 and CONFIGS["narrow"].beat_interval == 2

    def cycles_per_beat(m):
        burst = m["long_burst"]
        return burst["first_to_last_r"] / (burst["beats"] - 1)

    fast, slow = measured["paper"], measured["narrow"]
    assert cycles_per_beat(fast) == 1.0 and fast["long_burst"]["gaps"] == [1]
    assert cycles_per_beat(slow) == 2.0 and slow["long_burst"]["gaps"] == [2]
    # a 64-beat burst: 63 cycles from first to last beat at interval 1, 126 at interval 2
    beats = fast["long_burst"]["beats"]
    assert (beats - 1) * cycles_per_beat(slow) == 2 * fast["long_burst"]["first_to_last_r"]
    # peak of the paper build: 64 B per cycle (12.8 GB/s at 200 MHz) over a 4-burst stream
    stream = fast["stream"]
    data_cycles = stream["ar_to_last_r"] - CONFIGS["paper"].read_latency + 1
    assert stream["bytes"] / data_cycles == pytest.approx(64.0)


def test_shared_data_bus(measured):
    """Shared budget: concurrent reads and writes take turns; split budgets overlap them."""
    shared, split = measured["paper"]["mixed"], measured["narrow"]["mixed"]
    assert shared["first_to_last_beat"] >= shared["read_beats"] + shared["write_beats"] - 2
    assert split["same_edge_beats"] > 0


def test_model_lint_clean():
    """The model is clean under `verilator --lint-only -Wall` (default parameters)."""
    assert lint_verilog(MODEL_SOURCE.read_text(), "axi_mem_model") == []


def test_params_are_validated():
    with pytest.raises(ValueError, match="data_w"):
        MemModelParams(data_w=48)
    with pytest.raises(ValueError, match="read_latency"):
        MemModelParams(read_latency=1)
    with pytest.raises(ValueError, match="row_bytes"):
        MemModelParams(data_w=512, row_bytes=32)
    names = dict(MemModelParams().verilog_parameters())
    assert names["DATA_W"] == 512 and names["BEAT_INTERVAL"] == 1 and names["INIT_PLUSARG"] == '"MEM_INIT"'
