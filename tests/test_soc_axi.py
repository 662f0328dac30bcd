"""The generated SoC against independent AXI models (cocotbext-axi).

AxiRam serves the memory port(s), AxiLiteMaster programs the CSRs; random
back-pressure on every memory channel.  Checked in the bench
(sim/designs/soc/tb_axi.py): bit-exact outputs on every accelerator, no byte
written outside the output regions (so no lost, duplicated or misplaced
beat), SLVERR/DECERR for unmapped CSRs, error bits -- with memory left
untouched -- for zero, oversized, misaligned and out-of-window descriptors,
and no AXI protocol violation on any memory port (sim/designs/mem/tb/axi_checker.sv,
guarded by tests/test_axi_checker.py).
"""

import numpy as np
import pytest

from hw.config import ArrayParams
from hw.soc import SoCParams
from sim.designs.soc.soc import run_axi_conformance


def random_layers(rng, count, rows, cols):
    layers = []
    for i in range(count):
        M = int(rng.integers(1, 3 * cols + 2))
        K = int(rng.integers(1, 3 * rows + 2))
        N = int(rng.integers(1, 7))
        bias = rng.standard_normal(M).astype(np.float32) if i % 2 == 0 else None
        layers.append((rng.standard_normal((M, K)).astype(np.float32),
                       rng.standard_normal((K, N)).astype(np.float32), bias, i % 2 == 0))
    return layers


def paged_layers(rng, count, rows, cols):
    """Layers whose weights span several 4 KiB pages (every read channel takes a share)."""
    layers = []
    for i in range(count):
        M, K, N = 8 * cols - i, 48 * rows - 1, 1
        bias = rng.standard_normal(M).astype(np.float32) if i % 2 == 0 else None
        layers.append((rng.standard_normal((M, K)).astype(np.float32),
                       rng.standard_normal((K, N)).astype(np.float32), bias, i % 2 == 0))
    return layers


CASES = [  # simulator, accelerators, rows, cols, bus width, back-pressure probability[, memory ports]
    ("verilator", 2, 2, 2, 64, 0.0),
    ("verilator", 3, 2, 2, 64, 0.3, 2),  # two interleaved ports; layers of several pages
    ("verilator", 2, 4, 4, 64, 0.3, 3),  # three ports; layers of several pages, words of two beats
    ("verilator", 2, 2, 2, 64, 0.5),
    ("verilator", 3, 2, 3, 32, 0.3),     # a word spans several beats
    ("verilator", 2, 3, 2, 256, 0.3),    # a beat holds more than a word (padding lanes)
    ("icarus", 2, 2, 2, 64, 0.3),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{c[1]}acc-{c[2]}x{c[3]}-w{c[4]}-bp{c[5]}"
                                              + (f"-{c[6]}ports" if len(c) > 6 else "") for c in CASES])
def test_soc_against_cocotbext_axi(case, rng, tmp_path):
    simulator, accelerators, rows, cols, bus, backpressure = case[:6]
    ports = case[6] if len(case) > 6 else 1
    params = SoCParams(accelerators=accelerators, array=ArrayParams(rows, cols), bus_width=bus, mem_ports=ports,
                       input_words=64, acc_words=64, bias_words=8)
    layers = (paged_layers if ports > 1 else random_layers)(rng, accelerators, rows, cols)
    seed = int(rng.integers(1 << 30))
    print(f"back-pressure seed {seed}")
    result = run_axi_conformance(params, layers, simulator=simulator, backpressure=backpressure, seed=seed,
                                 run_dir=tmp_path)
    # the bench asserts everything; confirm the report says so too
    assert all(layer["bit_exact"] and layer["status"] == 0b10 for layer in result["layers"])
    assert result["stray_bytes"] == 0
    assert result["axi_violations"] == [0] * ports          # the axi_checker on every memory port
    assert result["csr_errors"] == {"unmapped_offset_read": 2, "unmapped_offset_write": 2, "missing_block_read": 3}
    assert result["descriptor_errors"] == {"zero_dim": 1, "oversized": 2, "misaligned": 4, "outside_window": 8}
    for layer in result["layers"]:
        assert layer["counters"]["bytes_read"] > 0 and layer["counters"]["bytes_written"] > 0
