"""cocotb testbench: the SoC against independent AXI models (cocotbext-axi).

AxiRam serves the memory port and AxiLiteMaster drives the CSRs, optionally
with random back-pressure on all five memory channels.  The SoC sits in
``soc_axi_tb`` (sim/designs/soc/soc_tb.py), whose axi_checker per memory port must count
no protocol violation.  Every accelerator
runs its layer; outputs must be bit-exact, every byte outside the output
regions must be untouched, and bad descriptors and CSR accesses must be
answered with error bits and AXI error responses.  The job (SOC_JOB) is
JSON; results go to SOC_RESULTS.
"""

import json
import os
import random
from pathlib import Path

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, with_timeout, SimTimeoutError
from cocotbext.axi import AxiBus, AxiLiteBus, AxiLiteMaster, AxiRam

from sim.golden.gemm import compare, linear
from .soc_layout import PAGE, place_layer, port_of_page, read_output

from hw.csr import BLOCK_BYTES, COUNTER_BASE, CTRL_OFFSET, REG_OFFSETS, STATUS_OFFSET
from hw.node import NODE_COUNTERS as COUNTERS

REG = {"ctrl": CTRL_OFFSET, "status": STATUS_OFFSET, **REG_OFFSETS}


class Interleaved:
    """Global byte addresses over M AxiRams interleaved by 4 KiB page (as hw/interconnect.py maps them)."""

    def __init__(self, rams):
        self.rams = rams

    def _pieces(self, addr, length):
        while length > 0:
            page, offset = divmod(addr, PAGE)
            take = min(length, PAGE - offset)
            port, local = port_of_page(page, len(self.rams))
            yield self.rams[port], local * PAGE + offset, take
            addr, length = addr + take, length - take

    def write(self, addr, data):
        pos = 0
        for ram, local, take in self._pieces(addr, len(data)):
            ram.write(local, data[pos:pos + take])
            pos += take

    def read(self, addr, length):
        return b"".join(ram.read(local, take) for ram, local, take in self._pieces(addr, length))


def _pauser(rng, p):
    while True:
        yield rng.random() < p


async def csr_write(csr, addr, value):
    resp = await csr.write(addr, int(value).to_bytes(4, "little"))
    return int(resp.resp)


async def csr_read(csr, addr):
    resp = await csr.read(addr, 4)
    return int.from_bytes(resp.data, "little"), int(resp.resp)


async def wait_irq(dut, mask, cycles, what):
    async def waiter():          # wakes only when an interrupt line changes
        while (int(dut.irq.value) & mask) != mask:
            await dut.irq.value_change
    try:
        await with_timeout(waiter(), cycles * 10, "ns")
    except SimTimeoutError:
        raise AssertionError(f"watchdog: {what} not done after {cycles} cycles "
                             f"(irq={int(dut.irq.value):b}); stuck bus or accelerator") from None


class Bench:
    """The SoC out of reset, its memory ports served by AxiRams, the CSR port by an AxiLiteMaster,
    and every layer of the job placed in its accelerator's window over a sentinel."""

    def __init__(self, dut, job):
        self.dut, self.job = dut, job
        self.rng = random.Random(job["seed"])
        self.n_acc, self.window = job["accelerators"], job["window_bytes"]
        self.rows, self.cols, self.bus_width = job["rows"], job["cols"], job["bus_width"]
        self.ports = job.get("mem_ports", 1)
        prefixes = ["m_axi"] if self.ports == 1 else [f"m{j}_axi" for j in range(self.ports)]
        self.rams = [AxiRam(AxiBus.from_prefix(dut, prefix), dut.clk, dut.rst, size=self.memory_bytes)
                     for prefix in prefixes]
        self.ram = Interleaved(self.rams)
        self.csr = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil"), dut.clk, dut.rst)
        if job["backpressure"]:
            for r in self.rams:
                for channel in (r.write_if.aw_channel, r.write_if.w_channel, r.write_if.b_channel,
                                r.read_if.ar_channel, r.read_if.r_channel):
                    channel.set_pause_generator(_pauser(random.Random(self.rng.random()), job["backpressure"]))
        self.layers, self.placements, self.images = [], [], []

    @property
    def memory_bytes(self):
        return self.window * (self.n_acc + 1)

    async def reset_and_load(self):
        dut = self.dut
        cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
        dut.rst.value = 1
        await ClockCycles(dut.clk, 5)
        dut.rst.value = 0
        await ClockCycles(dut.clk, 2)
        self.ram.write(0, bytes([0xA5]) * self.memory_bytes)
        for i, spec in enumerate(self.job["layers"]):
            data = np.load(spec["file"])
            W, X = data["W"], data["X"]
            bias = data["bias"] if "bias" in data else None
            place, writes = place_layer(W, X, bias, self.rows, self.cols, self.bus_width, base=i * self.window)
            assert place.end <= (i + 1) * self.window, "test layer does not fit its window"
            for addr, blob in writes.items():
                self.ram.write(addr, blob)
            self.layers.append((W, X, bias, bool(spec["relu"])))
            self.placements.append(place)
            self.images.append(writes)

    def descriptor(self, i):
        """Register values that run accelerator i's layer in its own window."""
        (W, X, bias, relu), place = self.layers[i], self.placements[i]
        return {"m": W.shape[0], "k": W.shape[1], "n": X.shape[1], "flags": int(bias is not None) | (relu << 1),
                "w_addr": place.w_addr, "x_addr": place.x_addr, "b_addr": place.b_addr, "y_addr": place.y_addr,
                "win_base": i * self.window, "win_limit": (i + 1) * self.window}

    async def program(self, i, values):
        for name, value in values.items():
            assert await csr_write(self.csr, BLOCK_BYTES * i + REG[name], value) == 0, f"CSR write {name} refused"

    async def start(self, i):
        await csr_write(self.csr, BLOCK_BYTES * i + REG["ctrl"], 1)

    def check_output(self, i):
        """(verdict dict, failures) for accelerator i's output region against the golden model."""
        (W, X, bias, relu), place = self.layers[i], self.placements[i]
        got = read_output(self.ram.read(place.y_addr, place.y_bytes), W.shape[0], X.shape[1], self.cols,
                          self.bus_width)
        return compare(got, linear(W, X, bias, relu))

    def violations(self):
        return [int(getattr(self.dut, f"mem{j}_axi_violations").value) for j in range(self.ports)]


@cocotb.test()
async def soc_layers(dut):
    job = json.loads(Path(os.environ["SOC_JOB"]).read_text())
    bench = Bench(dut, job)
    await bench.reset_and_load()
    ram, csr, n_acc, window = bench.ram, bench.csr, bench.n_acc, bench.window
    layers, placements = bench.layers, bench.placements
    before = bytearray(ram.read(0, window * (n_acc + 1)))

    for i in range(n_acc):
        await bench.program(i, bench.descriptor(i))
    for i in range(n_acc):
        await bench.start(i)
    await wait_irq(dut, (1 << n_acc) - 1, job["watchdog_cycles"], "accelerators")

    results, failures = [], []
    for i, place in enumerate(placements):
        status, _ = await csr_read(csr, BLOCK_BYTES * i + REG["status"])
        counters = {}
        for k, name in enumerate(COUNTERS):
            counters[name], _ = await csr_read(csr, BLOCK_BYTES * i + COUNTER_BASE + 4 * k)
        verdict = bench.check_output(i)
        results.append({"accelerator": i, "status": status, "counters": counters, **verdict})
        if status != 0b10:
            failures.append(f"accelerator {i}: status {status:#x}")
        if not verdict["bit_exact"]:
            failures.append(f"accelerator {i}: {verdict['mismatches']} mismatching outputs")
        before[place.y_addr:place.y_addr + place.y_bytes] = ram.read(place.y_addr, place.y_bytes)
    after = ram.read(0, window * (n_acc + 1))
    stray = sum(1 for a, b in zip(before, after) if a != b)
    if stray:
        failures.append(f"{stray} bytes changed outside the output regions")

    # CSR error responses
    checks = {}
    _, checks["unmapped_offset_read"] = await csr_read(csr, 0x30)
    checks["unmapped_offset_write"] = await csr_write(csr, 0x34, 1)
    _, checks["missing_block_read"] = await csr_read(csr, BLOCK_BYTES * n_acc + STATUS_OFFSET)
    if checks != {"unmapped_offset_read": 2, "unmapped_offset_write": 2, "missing_block_read": 3}:
        failures.append(f"CSR error responses {checks}")

    # bad descriptors on accelerator 0: error bits, nothing written
    bad_cases = {"zero_dim": ({"m": 0}, 0x01), "oversized": ({"n": 60000}, 0x02),
                 "misaligned": ({"x_addr": placements[0].x_addr + 2}, 0x04),
                 "outside_window": ({"y_addr": window}, 0x08)}
    snapshot = ram.read(0, window * (n_acc + 1))
    errors = {}
    for name, (overrides, bit) in bad_cases.items():
        W, X, bias, relu = layers[0]
        good = {"m": W.shape[0], "k": W.shape[1], "n": X.shape[1], "x_addr": placements[0].x_addr,
                "y_addr": placements[0].y_addr}
        for reg, value in {**good, **overrides}.items():
            await csr_write(csr, REG[reg], value)
        await csr_write(csr, REG["ctrl"], 1)
        await ClockCycles(dut.clk, 2)
        await wait_irq(dut, 1, 1000, f"bad descriptor {name}")
        status, _ = await csr_read(csr, REG["status"])
        errors[name] = status >> 8
        if not (status >> 8) & bit:
            failures.append(f"bad descriptor {name}: error code {status >> 8:#x}, expected bit {bit:#x}")
    if ram.read(0, window * (n_acc + 1)) != snapshot:
        failures.append("a rejected descriptor changed memory")

    violations = bench.violations()
    if any(violations):
        failures.append(f"AXI protocol violations per memory port {violations} (axi_checker lines in sim.log)")
    Path(os.environ["SOC_RESULTS"]).write_text(json.dumps(
        {"layers": results, "csr_errors": checks, "descriptor_errors": errors, "stray_bytes": stray,
         "axi_violations": violations}, indent=1))
    assert not failures, "; ".join(failures)
