"""cocotb testbench: random AXI-Lite programming while layers run.

The last accelerator is the *target*: random descriptors (zero, huge and
small dimensions, aligned, misaligned and wild addresses, windows inside its
own DRAM window) and random starts, while the others (the *victims*) run
their layers.  Alongside, random reads and writes anywhere in the CSR space,
including every descriptor register and CTRL of the running victims.

Must hold: every response matches the register map (OKAY, SLVERR for an
unmapped offset, DECERR beyond the last block); a register reads back what
was written last; each victim completes once, bit-exact, whatever was
written to its registers while it ran; nothing outside the target's window
and the victims' output regions changes; the target never hangs and then
runs its own layer bit-exact; no AXI protocol violation.
"""

import json
import os
from pathlib import Path

import cocotb
from cocotb.triggers import ClockCycles, with_timeout, SimTimeoutError

from hw.csr import BLOCK_BYTES, COUNTER_BASE, CTRL_OFFSET, INFO_OFFSET, STATUS_OFFSET
from hw.node import NODE_COUNTERS
from .tb_axi import REG, Bench, csr_read, csr_write, wait_irq

READABLE = {CTRL_OFFSET, STATUS_OFFSET, INFO_OFFSET, *REG.values(),
            *(COUNTER_BASE + 4 * k for k in range(len(NODE_COUNTERS)))}
WRITABLE = {CTRL_OFFSET, *(REG[name] for name in REG if name not in ("ctrl", "status"))}
DESCRIPTOR = [name for name in REG if name not in ("ctrl", "status")]


def expected_resp(addr, n_acc, write):
    block, offset = divmod(addr, BLOCK_BYTES)
    if block >= n_acc:
        return 3                                                  # DECERR
    return 0 if offset in (WRITABLE if write else READABLE) else 2  # OKAY / SLVERR


class Storm:
    """Random CSR traffic with a model of what each access must answer."""

    def __init__(self, bench: Bench, target: int):
        self.bench, self.target, self.rng = bench, target, bench.rng
        self.regs = {i: dict(bench.descriptor(i)) for i in range(bench.n_acc)}   # what each register holds
        self.failures, self.target_starts, self.ops = [], 0, 0
        beat = bench.bus_width // 8
        base = target * bench.window
        self.beat, self.base, self.limit = beat, base, base + bench.window

    def random_value(self, name):
        rng, R = self.rng, max(self.bench.rows, self.bench.cols)
        if name in ("m", "k", "n"):
            return rng.choice([0, rng.randrange(1, 2 * R + 2), rng.randrange(1, 2 * R + 2), rng.getrandbits(32)])
        if name == "flags":
            return rng.choice([rng.randrange(4), rng.getrandbits(32)])
        if name in ("win_base", "win_limit"):   # always inside the target's own window
            return self.base + self.beat * rng.randrange(self.bench.window // self.beat + 1)
        inside = self.base + self.beat * rng.randrange(self.bench.window // self.beat)
        return rng.choice([inside, inside, inside + rng.randrange(1, self.beat), rng.getrandbits(32)])

    async def plausible_target_layer(self):
        """Its own addresses and window with random small dimensions: a layer that mostly runs."""
        R, rng = max(self.bench.rows, self.bench.cols), self.rng
        values = {**self.bench.descriptor(self.target), "flags": rng.randrange(4),
                  **{d: rng.randrange(1, 2 * R + 2) for d in ("m", "k", "n")}}
        for name, value in values.items():
            await self.write(self.target * BLOCK_BYTES + REG[name], value)

    async def write(self, addr, value):
        n_acc = self.bench.n_acc
        resp = await csr_write(self.bench.csr, addr, value)
        if resp != expected_resp(addr, n_acc, True):
            self.failures.append(f"write {addr:#06x}: response {resp}, expected {expected_resp(addr, n_acc, True)}")
        block, offset = divmod(addr, BLOCK_BYTES)
        name = next((r for r in DESCRIPTOR if REG[r] == offset), None)
        if block < n_acc and name:
            self.regs[block][name] = value
        self.ops += 1

    async def read(self, addr):
        n_acc = self.bench.n_acc
        value, resp = await csr_read(self.bench.csr, addr)
        if resp != expected_resp(addr, n_acc, False):
            self.failures.append(f"read {addr:#06x}: response {resp}, expected {expected_resp(addr, n_acc, False)}")
        block, offset = divmod(addr, BLOCK_BYTES)
        name = next((r for r in DESCRIPTOR if REG[r] == offset), None)
        if block < n_acc and name and value != self.regs[block][name]:
            self.failures.append(f"register {name} of accelerator {block} reads {value:#x}, "
                                 f"wrote {self.regs[block][name]:#x}")
        if block < n_acc and offset == INFO_OFFSET and value != self.bench.rows | self.bench.cols << 16:
            self.failures.append(f"INFO of accelerator {block} reads {value:#x}")
        self.ops += 1

    async def step(self, victims_running: bool):
        """One random access; CTRL of a victim only while it certainly still runs."""
        rng, n_acc, t = self.rng, self.bench.n_acc, self.target
        kind = rng.random()
        if kind < 0.25:                                   # reprogram the target
            name = rng.choice(DESCRIPTOR)
            await self.write(t * BLOCK_BYTES + REG[name], self.random_value(name))
        elif kind < 0.35:                                 # start the target (ignored while busy)
            if rng.random() < 0.5:
                await self.plausible_target_layer()
            await self.write(t * BLOCK_BYTES + CTRL_OFFSET, 1)
            self.target_starts += 1
        elif kind < 0.55 and victims_running:             # scribble on a running victim's descriptor
            victim = rng.randrange(n_acc - 1)
            name = rng.choice(DESCRIPTOR)
            await self.write(victim * BLOCK_BYTES + REG[name], rng.getrandbits(32))
        elif kind < 0.75:                                 # anywhere, aligned or not, mapped or not,
            addr = rng.randrange(BLOCK_BYTES * (n_acc + 2))
            block, offset = divmod(addr, BLOCK_BYTES)
            if offset == CTRL_OFFSET and block < n_acc:   # but no start: a finished victim would rerun
                await self.read(addr)
            else:
                await self.write(addr, rng.getrandbits(32))
        else:
            await self.read(rng.randrange(BLOCK_BYTES * (n_acc + 2)))


async def completions(dut, mask, counts):
    """Count rising edges of each interrupt line; wakes only when irq changes."""
    last = int(dut.irq.value)
    while True:
        await dut.irq.value_change
        now = int(dut.irq.value)
        for i in range(len(counts)):
            if mask >> i & 1 and now >> i & 1 and not last >> i & 1:
                counts[i] += 1
        last = now


async def watch_target(bench, target, tally):
    """Tally how the target's random runs ended: read STATUS when its interrupt rises."""
    dut, last = bench.dut, 0
    while True:
        await dut.irq.value_change
        if int(dut.irq.value) >> target & 1 and not last:
            status, _ = await csr_read(bench.csr, target * BLOCK_BYTES + STATUS_OFFSET)
            tally["done" if status == 0b10 else "error" if status >> 8 else "restarted"] += 1
        last = int(dut.irq.value) >> target & 1


async def wait_idle(bench, i, cycles, what):
    """Poll STATUS until accelerator i is not busy, with a simulated-time watchdog."""
    async def poll():
        while True:
            status, _ = await csr_read(bench.csr, i * BLOCK_BYTES + STATUS_OFFSET)
            if not status & 1:
                return status
            await ClockCycles(bench.dut.clk, 16)
    try:
        return await with_timeout(poll(), cycles * 10, "ns")
    except SimTimeoutError:
        raise AssertionError(f"watchdog: {what} still busy after {cycles} cycles") from None


@cocotb.test()
async def soc_csr_random(dut):
    job = json.loads(Path(os.environ["SOC_JOB"]).read_text())
    bench = Bench(dut, job)
    await bench.reset_and_load()
    n_acc, target = bench.n_acc, bench.n_acc - 1
    victims = range(n_acc - 1)
    victim_mask = (1 << (n_acc - 1)) - 1
    before = bytearray(bench.ram.read(0, bench.memory_bytes))
    for i in range(n_acc):
        await bench.program(i, bench.descriptor(i))
    counts = [0] * n_acc
    cocotb.start_soon(completions(dut, victim_mask, counts))
    for i in victims:
        await bench.start(i)
    storm = Storm(bench, target)
    target_runs = {"done": 0, "error": 0, "restarted": 0}
    watcher = cocotb.start_soon(watch_target(bench, target, target_runs))
    for i in victims:                                  # a start while busy is ignored
        await storm.write(i * BLOCK_BYTES + CTRL_OFFSET, 1)

    async def run_storm():
        while int(dut.irq.value) & victim_mask != victim_mask:
            await storm.step(victims_running=True)
        for _ in range(job["storm_after"]):
            await storm.step(victims_running=False)
    try:
        await with_timeout(run_storm(), job["watchdog_cycles"] * 10, "ns")
    except SimTimeoutError:
        raise AssertionError(f"watchdog: victims not done after {job['watchdog_cycles']} cycles "
                             f"(irq={int(dut.irq.value):b})") from None
    await wait_irq(dut, victim_mask, 1, "victims")
    failures = list(storm.failures)
    if counts[:n_acc - 1] != [1] * (n_acc - 1):
        failures.append(f"victim completions {counts[:n_acc - 1]}, expected one each")

    target_status = await wait_idle(bench, target, job["watchdog_cycles"], "the randomly programmed accelerator")
    await ClockCycles(dut.clk, 2)
    watcher.cancel()
    results = []
    for i in victims:
        status, _ = await csr_read(bench.csr, i * BLOCK_BYTES + STATUS_OFFSET)
        verdict = bench.check_output(i)
        results.append({"accelerator": i, "status": status, **verdict})
        if status != 0b10 or not verdict["bit_exact"]:
            failures.append(f"victim {i}: status {status:#x}, {verdict['mismatches']} mismatching outputs")
        place = bench.placements[i]
        before[place.y_addr:place.y_addr + place.y_bytes] = bench.ram.read(place.y_addr, place.y_bytes)
    window = slice(target * bench.window, (target + 1) * bench.window)
    after = bytearray(bench.ram.read(0, bench.memory_bytes))
    before[window] = after[window]
    stray = sum(1 for a, b in zip(before, after) if a != b)
    if stray:
        failures.append(f"{stray} bytes changed outside the target's window and the victims' outputs")

    # the target still works: its own layer, from a fresh image, bit-exact
    for addr, blob in bench.images[target].items():
        bench.ram.write(addr, blob)
    await bench.program(target, bench.descriptor(target))
    await bench.start(target)
    await wait_idle(bench, target, job["watchdog_cycles"], "the target's own layer")
    status, _ = await csr_read(bench.csr, target * BLOCK_BYTES + STATUS_OFFSET)
    verdict = bench.check_output(target)
    results.append({"accelerator": target, "status": status, **verdict})
    if status != 0b10 or not verdict["bit_exact"]:
        failures.append(f"target after the storm: status {status:#x}, {verdict['mismatches']} mismatching outputs")
    violations = bench.violations()
    if any(violations):
        failures.append(f"AXI protocol violations per memory port {violations} (axi_checker lines in sim.log)")
    Path(os.environ["SOC_RESULTS"]).write_text(json.dumps(
        {"layers": results, "storm_ops": storm.ops, "target_starts": storm.target_starts,
         "target_status_after_storm": target_status, "target_runs": target_runs, "victim_completions": counts[:n_acc - 1],
         "stray_bytes": stray, "axi_violations": violations}, indent=1))
    assert not failures, "; ".join(failures[:10])
