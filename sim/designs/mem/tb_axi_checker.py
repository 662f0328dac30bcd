"""cocotb testbench: drive sim/designs/mem/tb/axi_checker.sv with one legal and several illegal AXI sequences.

Guards the checker itself (tests/test_axi_checker.py): the legal traffic must
count no violation, each deliberate violation at least one.  Python drives
every cycle here, which is fine for a few dozen cycles of a checker alone.
Results (scenario -> violations) go to CHECKER_RESULTS as JSON.
"""

import json
import os
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge

INPUTS = ("awid", "awaddr", "awlen", "awsize", "awburst", "awvalid", "awready", "wdata", "wstrb", "wlast",
          "wvalid", "wready", "bid", "bresp", "bvalid", "bready", "arid", "araddr", "arlen", "arsize",
          "arburst", "arvalid", "arready", "rid", "rdata", "rresp", "rlast", "rvalid", "rready")


def aw(addr, length, size=3, burst=1, ready=1, id=0):
    return {"awvalid": 1, "awaddr": addr, "awlen": length - 1, "awsize": size, "awburst": burst,
            "awready": ready, "awid": id}


def ar(addr, length, size=3, burst=1, ready=1, id=0):
    return {"arvalid": 1, "araddr": addr, "arlen": length - 1, "arsize": size, "arburst": burst,
            "arready": ready, "arid": id}


def w(data, last, ready=1):
    return {"wvalid": 1, "wdata": data, "wstrb": 0xFF, "wlast": last, "wready": ready}


def r(data, last, ready=1, id=0):
    return {"rvalid": 1, "rdata": data, "rlast": last, "rready": ready, "rid": id}


B = {"bvalid": 1, "bready": 1}


def burst_w(n):
    return [w(k, int(k == n - 1)) for k in range(n)]


def burst_r(n, id=0):
    return [r(k, int(k == n - 1), id=id) for k in range(n)]


SCENARIOS = {
    # legal: waits with stable payload, data before its address, two IDs interleaved
    "legal": [aw(0x100, 4, ready=0), aw(0x100, 4, ready=0), aw(0x100, 4), *burst_w(4), B,
              *burst_w(2), aw(0xFF0, 2), B, ar(0x2000, 2, id=1), ar(0x3000, 1, id=2),
              r(7, 0, id=1), r(9, 1, id=2), r(8, 1, id=1), ar(0, 256, burst=1), *burst_r(256),
              ar(0x40, 4, burst=2), *burst_r(4)],
    "crosses_4k": [aw(0xFF8, 2), *burst_w(2), B],
    "read_crosses_4k": [ar(0x1F00, 64), *burst_r(64)],
    "aw_payload_changed": [aw(0x100, 4, ready=0), aw(0x108, 4), *burst_w(4), B],
    "aw_valid_dropped": [aw(0x100, 4, ready=0), {}, aw(0x100, 4), *burst_w(4), B],
    "w_payload_changed": [aw(0x100, 2), w(1, 0, ready=0), w(2, 0), w(3, 1), B],
    "r_payload_changed": [ar(0x100, 1), r(5, 1, ready=0), r(6, 1)],
    "wlast_early": [aw(0x100, 4), w(0, 0), w(1, 1), w(2, 0), w(3, 1), B],
    "wlast_missing": [aw(0x100, 2), w(0, 0), w(1, 0), w(2, 1), B],
    "rlast_missing": [ar(0x100, 2), r(0, 0), r(1, 0), r(2, 1)],
    "too_many_reads": [ar(0x100 * k, 1) for k in range(5)] + [r(k, 1) for k in range(5)],
    "too_many_writes": [aw(0x100 * k, 1) for k in range(5)] + [w(k, 1) for k in range(5)] + [B] * 5,
    "r_without_ar": [r(1, 1)],
    "b_without_aw": [B],
    "reserved_burst": [ar(0x100, 1, burst=3), r(0, 1)],
    "wrap_length": [ar(0x100, 3, burst=2), *burst_r(3)],
    "size_wider_than_bus": [ar(0x100, 1, size=4), r(0, 1)],
}


async def play(dut, cycles):
    """Reset the checker, drive ``cycles`` (one dict of inputs per clock), return its count."""
    for name in INPUTS:
        getattr(dut, name).value = 0
    dut.rst.value = 1
    await RisingEdge(dut.clk)
    await RisingEdge(dut.clk)
    dut.rst.value = 0
    for values in cycles:
        for name in INPUTS:
            getattr(dut, name).value = values.get(name, 0)
        await RisingEdge(dut.clk)
    for name in INPUTS:
        getattr(dut, name).value = 0
    await RisingEdge(dut.clk)
    await RisingEdge(dut.clk)
    return int(dut.violations.value)


@cocotb.test()
async def scenarios(dut):
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    results = {name: await play(dut, cycles) for name, cycles in SCENARIOS.items()}
    Path(os.environ["CHECKER_RESULTS"]).write_text(json.dumps(results, indent=1))
