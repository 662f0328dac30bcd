"""cocotb testbench for the simulation DRAM ``axi_mem_model`` (sim/designs/mem/tb/axi_mem_model.sv).

The model is the top level; cocotbext-axi binds its ``s_axi_*`` port by
prefix.  The run's JSON config (AXI_MEM_CONFIG, written by
:func:`sim.designs.mem.mem_model.run_bench`) gives the model parameters, the seed, the
test options and the image/dump/report file names.  Images go in and out in
bulk through the model's $readmemh/$writememh (``load``/``dump`` pulses);
every transfer is checked against a byte-exact Python shadow of the memory.

A monitor samples the five handshakes at every clock edge: it records edge
numbers (for latency and bandwidth), the number of bursts outstanding, and
checks that rvalid/bvalid and their payload stay put while the master stalls.
Every wait has a watchdog in cycles with a message that names the operation.
"""

import json
import logging
import os
import random
from pathlib import Path

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge, SimTimeoutError, with_timeout
from cocotbext.axi import AxiBurstType, AxiBus, AxiMaster, AxiResp
from cocotbext.axi.axi_channels import (AxiARSource, AxiARTransaction, AxiAWSource, AxiAWTransaction,
                                        AxiBSink, AxiRSink, AxiWSource, AxiWTransaction)

from sim.core.constants import CLOCK_NS
from sim.core.hexfile import read_words, write_words

PAGE = 0x1000  # AXI bursts never cross 4 KiB


def split_bursts(addr: int, length: int, beat_bytes: int, max_len: int = 256):
    """The INCR bursts cocotbext-axi issues for ``length`` bytes at ``addr``: [(address, beats)]."""
    beats = (length + addr % beat_bytes + beat_bytes - 1) // beat_bytes
    aligned = addr - addr % beat_bytes
    bursts, done, cur = [], 0, addr
    while done < beats:
        n = min(beats - done, max_len)
        n = (min(n * beat_bytes, PAGE - (cur & (PAGE - 1))) + beat_bytes - 1) // beat_bytes
        bursts.append((cur, n))
        done += n
        cur = aligned + done * beat_bytes
    return bursts


class RowModel:
    """Python twin of the model's open-row counter (row : bank : column)."""

    def __init__(self, p):
        self.beat = p["data_w"] // 8
        self.row_words = p["row_bytes"] // self.beat
        self.banks = p["banks"]
        self.open = {}
        self.activations = 0

    def access(self, bursts):
        for addr, beats in bursts:
            first = addr // self.beat
            for word in range(first, first + beats):
                bank = (word // self.row_words) % self.banks
                row = word // (self.row_words * self.banks)
                if self.open.get(bank) != row:
                    self.activations += 1
                    self.open[bank] = row


def pause_generator(rng: random.Random, probability: float):
    while True:
        yield rng.random() < probability


class Bench:
    def __init__(self, dut):
        self.dut = dut
        self.cfg = json.loads(Path(os.environ["AXI_MEM_CONFIG"]).read_text())
        self.p = self.cfg["params"]
        self.opt = self.cfg["options"]
        self.seed = int(self.cfg["seed"])
        self.rng = random.Random(self.seed)
        self.beat = self.p["data_w"] // 8
        self.lanes = self.p["data_w"] // 32
        self.mem_bytes = self.p["mem_words"] * self.beat
        self.report = {"seed": self.seed, "params": self.p}
        self.edge = 0
        self.events = {k: [] for k in ("ar", "r", "rlast", "aw", "w", "wlast", "b")}
        self.record = False
        self.rd_out = self.wr_out = self.max_rd_out = self.max_wr_out = 0
        self.protocol_errors = []
        self.axi = None
        self.backlog_beats = 0    # beats other concurrent transfers may put ahead of one
        dut._log.info(f"axi_mem bench seed {self.seed} params {self.p}")

    # ---------------------------------------------------------------- set-up
    async def start(self, master: bool = True):
        dut = self.dut
        cocotb.start_soon(Clock(dut.clk, CLOCK_NS, unit="ns").start())
        dut.rst.value = 1
        dut.load.value = 0
        dut.dump.value = 0
        dut.dump_words.value = 0
        # cocotbext-axi logs every transfer with its data at INFO: keep the logs short
        logging.getLogger(f"cocotb.{dut._name}.s_axi").setLevel(logging.WARNING)
        if master:
            self.axi = AxiMaster(AxiBus.from_prefix(dut, "s_axi"), dut.clk, dut.rst)
        else:
            for name in ("awvalid", "wvalid", "arvalid"):
                getattr(dut, f"s_axi_{name}").value = 0
            dut.s_axi_bready.value = 0
            dut.s_axi_rready.value = 0
        await ClockCycles(dut.clk, 4)
        dut.rst.value = 0
        cocotb.start_soon(self._monitor())
        await ClockCycles(dut.clk, 2)

    async def guard(self, awaitable, cycles: int, what: str):
        """Await with a watchdog of ``cycles`` clock cycles."""
        try:
            return await with_timeout(awaitable, int(cycles) * CLOCK_NS, "ns")
        except SimTimeoutError:
            raise AssertionError(f"watchdog: {what} did not complete within {int(cycles)} cycles "
                                 f"(reads outstanding {self.rd_out}, writes outstanding {self.wr_out})") from None

    def budget(self, beats: int, stalls: bool = False) -> int:
        """Cycles a transfer of ``beats`` may take (generous; backpressure multiplies it)."""
        p = self.p
        per_beat = p["beat_interval"] * (12 if stalls else 2)
        return 200 + 4 * (p["read_latency"] + p["write_latency"]) + (beats + self.backlog_beats) * per_beat

    def set_backpressure(self, probability: dict | None):
        """Random stalls on every channel: valid gaps on AW/W/AR, ready gaps on B/R."""
        channels = {"aw": self.axi.write_if.aw_channel, "w": self.axi.write_if.w_channel,
                    "b": self.axi.write_if.b_channel, "ar": self.axi.read_if.ar_channel,
                    "r": self.axi.read_if.r_channel}
        for name, channel in channels.items():
            if probability is None:
                channel.clear_pause_generator()
            else:
                channel.set_pause_generator(pause_generator(random.Random(self.rng.random()), probability[name]))

    # ---------------------------------------------------------------- monitor
    async def _monitor(self):
        d = self.dut
        sig = {n: getattr(d, f"s_axi_{n}") for n in
               ("arvalid", "arready", "rvalid", "rready", "awvalid", "awready",
                "wvalid", "wready", "bvalid", "bready")}
        r_stalled = b_stalled = None
        while True:
            await RisingEdge(d.clk)
            self.edge += 1
            v = {n: int(s.value) for n, s in sig.items()}
            ar = v["arvalid"] and v["arready"]
            r = v["rvalid"] and v["rready"]
            aw = v["awvalid"] and v["awready"]
            w = v["wvalid"] and v["wready"]
            b = v["bvalid"] and v["bready"]
            # payload is only defined (X-free on Icarus) while valid
            v["rlast"] = int(d.s_axi_rlast.value) if v["rvalid"] else 0
            v["wlast"] = int(d.s_axi_wlast.value) if w else 0
            # AXI: once valid, hold valid and payload until the handshake
            if r_stalled is not None:
                now = (v["rvalid"], int(d.s_axi_rid.value), int(d.s_axi_rresp.value), v["rlast"],
                       int(d.s_axi_rdata.value))
                if now != r_stalled:
                    self.protocol_errors.append(f"edge {self.edge}: R changed while stalled: {r_stalled} -> {now}")
            if b_stalled is not None:
                now = (v["bvalid"], int(d.s_axi_bid.value), int(d.s_axi_bresp.value))
                if now != b_stalled:
                    self.protocol_errors.append(f"edge {self.edge}: B changed while stalled: {b_stalled} -> {now}")
            r_stalled = ((1, int(d.s_axi_rid.value), int(d.s_axi_rresp.value), v["rlast"], int(d.s_axi_rdata.value))
                         if v["rvalid"] and not v["rready"] else None)
            b_stalled = ((1, int(d.s_axi_bid.value), int(d.s_axi_bresp.value))
                         if v["bvalid"] and not v["bready"] else None)
            self.rd_out += ar - (1 if r and v["rlast"] else 0)
            self.wr_out += aw - b
            self.max_rd_out = max(self.max_rd_out, self.rd_out)
            self.max_wr_out = max(self.max_wr_out, self.wr_out)
            if self.record:
                for name, fired in (("ar", ar), ("r", r), ("aw", aw), ("w", w), ("b", b)):
                    if fired:
                        self.events[name].append(self.edge)
                if r and v["rlast"]:
                    self.events["rlast"].append(self.edge)
                if w and v["wlast"]:
                    self.events["wlast"].append(self.edge)

    def clear_events(self):
        for k in self.events:
            self.events[k].clear()

    # ---------------------------------------------------------------- images
    def random_image(self) -> bytearray:
        words = np.random.default_rng(self.seed).integers(0, 1 << 32, size=(self.p["mem_words"], self.lanes),
                                                          dtype=np.uint32)
        return bytearray(words.astype("<u4").tobytes())

    async def load(self, image: bytes):
        words = np.frombuffer(bytes(image), dtype="<u4").reshape(-1, self.lanes)
        write_words(self.cfg["init_file"], words)
        await self._pulse(self.dut.load)

    async def dump(self, words: int | None = None) -> bytes:
        words = self.p["mem_words"] if words is None else words
        path = Path(self.cfg["dump_file"])
        path.unlink(missing_ok=True)
        self.dut.dump_words.value = words
        await self._pulse(self.dut.dump)
        assert path.exists(), f"dump pulse wrote no {path}"
        return read_words(path, self.lanes).astype("<u4").tobytes()

    async def _pulse(self, signal):
        await RisingEdge(self.dut.clk)
        signal.value = 1
        await ClockCycles(self.dut.clk, 2)
        signal.value = 0
        await ClockCycles(self.dut.clk, 2)

    # ---------------------------------------------------------------- checks
    async def stats(self) -> dict:
        await ClockCycles(self.dut.clk, 2)    # counters update at the handshake edge
        names = ("read_beats", "write_beats", "read_bursts", "write_bursts", "row_activations", "busy_cycles")
        return {n: int(getattr(self.dut, f"stat_{n}").value) for n in names}

    def check_memory(self, got: bytes, shadow: bytes, what: str):
        if got != bytes(shadow):
            a = np.frombuffer(got, np.uint8)
            b = np.frombuffer(bytes(shadow), np.uint8)
            bad = np.flatnonzero(a != b)
            raise AssertionError(f"{what}: {bad.size} bytes differ, first at 0x{bad[0]:x} "
                                 f"(got {a[bad[0]]:02x}, expected {b[bad[0]]:02x})")

    def finish(self):
        self.report["protocol_errors"] = self.protocol_errors[:20]
        self.report["max_read_outstanding"] = self.max_rd_out
        self.report["max_write_outstanding"] = self.max_wr_out
        Path(self.cfg["report"]).write_text(json.dumps(self.report, indent=1))
        assert not self.protocol_errors, f"{len(self.protocol_errors)} AXI hold violations: {self.protocol_errors[:3]}"
        assert self.max_rd_out <= self.p["max_outstanding"], \
            f"{self.max_rd_out} read bursts outstanding > MAX_OUTSTANDING={self.p['max_outstanding']}"
        assert self.max_wr_out <= self.p["max_outstanding_writes"], \
            f"{self.max_wr_out} write bursts outstanding > MAX_OUTSTANDING_WRITES={self.p['max_outstanding_writes']}"

    # ---------------------------------------------------------------- transfers
    async def write(self, addr, data, expect=AxiResp.OKAY, stalls=False, **kw):
        beats = sum(n for _, n in split_bursts(addr, len(data), self.beat))
        resp = await self.guard(self.axi.write(addr, bytes(data), **kw), self.budget(beats, stalls),
                                f"write of {len(data)} B at 0x{addr:x}")
        assert resp.resp == expect, f"write of {len(data)} B at 0x{addr:x} {kw}: {resp.resp!r}, expected {expect!r}"

    async def read(self, addr, length, expect=AxiResp.OKAY, stalls=False, **kw) -> bytes:
        beats = sum(n for _, n in split_bursts(addr, length, self.beat))
        resp = await self.guard(self.axi.read(addr, length, **kw), self.budget(beats, stalls),
                                f"read of {length} B at 0x{addr:x}")
        assert resp.resp == expect, f"read of {length} B at 0x{addr:x} {kw}: {resp.resp!r}, expected {expect!r}"
        return resp.data


# ==================================================================== tests
@cocotb.test()
async def bulk_init(dut):
    """$readmemh image reads back exactly through AXI; $writememh dump equals it."""
    tb = Bench(dut)
    await tb.start()
    image = tb.random_image()
    await tb.load(image)
    chunk = 16 * 1024
    got = bytearray()
    for addr in range(0, tb.mem_bytes, chunk):
        got += await tb.read(addr, min(chunk, tb.mem_bytes - addr))
    tb.check_memory(bytes(got), image, "AXI read-back of the $readmemh image")
    tb.check_memory(await tb.dump(), image, "$writememh dump of the loaded image")
    partial = await tb.dump(5)
    tb.check_memory(partial, image[:5 * tb.beat], "$writememh dump of 5 words")
    stats = await tb.stats()
    tb.report["stats"] = stats
    assert stats["read_beats"] == tb.p["mem_words"] and stats["write_beats"] == 0, stats
    tb.finish()


@cocotb.test()
async def random_traffic(dut):
    """Random reads/writes with backpressure on all channels, against a shadow memory."""
    tb = Bench(dut)
    await tb.start()
    rng = tb.rng
    shadow = tb.random_image()
    await tb.load(shadow)
    probability = {ch: rng.uniform(0.1, 0.6) for ch in ("aw", "w", "b", "ar", "r")}
    tb.set_backpressure(probability)
    workers = int(tb.opt.get("workers", 4))
    ops = int(tb.opt.get("ops", 40))
    region = tb.mem_bytes // workers
    assert region % PAGE == 0, "regions must be whole 4 KiB pages"
    max_bytes = min(256 * tb.beat, PAGE)      # the longest legal burst at this width
    tb.backlog_beats = workers * 4 * 3 * PAGE // tb.beat   # other workers' transfers queue ahead
    expect = {"read_beats": 0, "write_beats": 0, "read_bursts": 0, "write_bursts": 0}
    kinds = {}
    id_count = 1 << tb.p["id_w"]

    def pick(wrng, base):
        kind = wrng.choice(["single", "short", "max", "to4k", "cross", "short"])
        if kind == "single":                  # inside one beat: partial strobes
            off = wrng.randrange(tb.beat)
            length = wrng.randint(1, tb.beat - off)
            addr = base + wrng.randrange(region // tb.beat) * tb.beat + off
        elif kind == "short":
            length = wrng.randint(1, 16 * tb.beat)
            addr = base + wrng.randrange(region - length + 1)
        elif kind == "max":                   # one full-length burst (256 beats where 4 KiB allows)
            length = max_bytes
            addr = base + wrng.randrange(region // max_bytes) * max_bytes
        elif kind == "to4k":                  # ends exactly at a 4 KiB boundary
            length = wrng.randint(1, max_bytes)
            end = base + wrng.randrange(1, region // PAGE + 1) * PAGE
            addr = end - length
        else:                                 # crosses 4 KiB boundaries: split by the master
            length = wrng.randint(PAGE // 2, 3 * PAGE)
            addr = base + wrng.randrange(region - length + 1)
        return kind, addr, length

    async def worker(index):
        wrng = random.Random(rng.random())
        base = index * region
        for _ in range(ops):
            kind, addr, length = pick(wrng, base)
            kinds[kind] = kinds.get(kind, 0) + 1
            bursts = split_bursts(addr, length, tb.beat)
            assert addr >= base and addr + length <= base + region
            op = wrng.random()
            if op < 0.45:
                data = wrng.randbytes(length)
                await tb.write(addr, data, stalls=True, awid=wrng.randrange(id_count))
                shadow[addr:addr + length] = data
                expect["write_beats"] += sum(n for _, n in bursts)
                expect["write_bursts"] += len(bursts)
            elif op < 0.85:
                got = await tb.read(addr, length, stalls=True, arid=wrng.randrange(id_count))
                tb.check_memory(got, shadow[addr:addr + length], f"read of {length} B at 0x{addr:x} ({kind})")
                expect["read_beats"] += sum(n for _, n in bursts)
                expect["read_bursts"] += len(bursts)
            else:                             # several reads in flight at once from one worker
                reads = [(addr, length)] + [pick(wrng, base)[1:] for _ in range(wrng.randint(1, 3))]
                tasks = [cocotb.start_soon(tb.axi.read(a, n, arid=wrng.randrange(id_count))) for a, n in reads]
                for (a, n), task in zip(reads, tasks):
                    resp = await tb.guard(task, tb.budget(4 * 3 * PAGE // tb.beat, True), f"read at 0x{a:x}")
                    assert resp.resp == AxiResp.OKAY, f"read at 0x{a:x}: {resp.resp!r}"
                    tb.check_memory(resp.data, shadow[a:a + n], f"overlapped read of {n} B at 0x{a:x}")
                    bursts = split_bursts(a, n, tb.beat)
                    expect["read_beats"] += sum(m for _, m in bursts)
                    expect["read_bursts"] += len(bursts)

    start = tb.edge
    tasks = [cocotb.start_soon(worker(i)) for i in range(workers)]
    for i, task in enumerate(tasks):
        await tb.guard(task, ops * tb.budget(4 * 3 * PAGE // tb.beat, True), f"random worker {i}")
    tb.set_backpressure(None)
    await tb.guard(tb.axi.wait(), 1000, "draining the master")
    cycles = tb.edge - start
    tb.check_memory(await tb.dump(), shadow, "final $writememh dump vs the shadow memory")
    stats = await tb.stats()
    tb.report.update(stats=stats, expected=expect, kinds=kinds, cycles=cycles, backpressure=probability)
    for name, value in expect.items():
        assert stats[name] == value, f"stat_{name} = {stats[name]}, expected {value}"
    total = stats["read_beats"] + stats["write_beats"]
    assert max(stats["read_beats"], stats["write_beats"]) <= stats["busy_cycles"] <= total, stats
    assert 0 < stats["row_activations"] <= total, stats
    tb.finish()


@cocotb.test()
async def latency_bandwidth(dut):
    """Exact latency and beat spacing with no backpressure; shared or split data bus."""
    tb = Bench(dut)
    await tb.start()
    p, beat = tb.p, tb.beat
    RL, WL, BI = p["read_latency"], p["write_latency"], p["beat_interval"]
    tb.record = True
    out = {}

    # one beat: edges from the AR handshake to the R handshake
    tb.clear_events()
    await tb.read(0x40 * beat, beat)
    out["read_latency"] = tb.events["r"][0] - tb.events["ar"][0]
    # one beat write: edges from the last W handshake to the B handshake
    tb.clear_events()
    await tb.write(0x80 * beat, bytes(beat))
    out["write_latency"] = tb.events["b"][0] - tb.events["wlast"][0]

    # the longest legal burst: READ_LATENCY + (N - 1) * BEAT_INTERVAL edges from AR to the last R
    n = min(256, PAGE // beat)
    tb.clear_events()
    await tb.read(2 * PAGE, n * beat)
    ev = tb.events
    assert len(ev["ar"]) == 1 and len(ev["r"]) == n, f"expected one burst of {n} beats: {len(ev['ar'])} AR, {len(ev['r'])} R"
    out["long_burst"] = {"beats": n, "ar_to_last_r": ev["r"][-1] - ev["ar"][0],
                         "first_to_last_r": ev["r"][-1] - ev["r"][0],
                         "gaps": sorted(set(b - a for a, b in zip(ev["r"], ev["r"][1:])))}
    # a long write burst: W beats at most one per BEAT_INTERVAL
    tb.clear_events()
    await tb.write(4 * PAGE, bytes(n * beat))
    out["long_write"] = {"beats": n, "first_to_last_w": ev["w"][-1] - ev["w"][0],
                         "gaps": sorted(set(b - a for a, b in zip(ev["w"], ev["w"][1:])))}

    # a stream of several bursts: outstanding reads hide the latency
    stream = int(tb.opt.get("stream_bytes", 4 * PAGE))
    tb.clear_events()
    await tb.read(0, stream)
    beats = stream // beat
    out["stream"] = {"bytes": stream, "beats": beats, "bursts": len(ev["ar"]),
                     "ar_to_last_r": ev["r"][-1] - ev["ar"][0]}

    # reads and writes at once: one beat budget (shared) or one per direction
    tb.clear_events()
    rd = cocotb.start_soon(tb.read(0, 2 * PAGE))
    wr = cocotb.start_soon(tb.write(8 * PAGE, bytes(2 * PAGE)))
    await tb.guard(rd, tb.budget(8 * PAGE // beat), "concurrent read")
    await tb.guard(wr, tb.budget(8 * PAGE // beat), "concurrent write")
    data_edges = sorted(ev["r"] + ev["w"])
    out["mixed"] = {"read_beats": len(ev["r"]), "write_beats": len(ev["w"]),
                    "first_to_last_beat": data_edges[-1] - data_edges[0],
                    "same_edge_beats": len(set(ev["r"]) & set(ev["w"]))}
    tb.report["measured"] = out

    assert out["read_latency"] == RL, f"read latency {out['read_latency']} edges, READ_LATENCY={RL}"
    assert out["write_latency"] == WL, f"write latency {out['write_latency']} edges, WRITE_LATENCY={WL}"
    lb = out["long_burst"]
    assert lb["ar_to_last_r"] == RL + (n - 1) * BI, f"{n}-beat burst took {lb['ar_to_last_r']} edges, " \
        f"expected READ_LATENCY + (N-1)*BEAT_INTERVAL = {RL + (n - 1) * BI}"
    assert lb["gaps"] == [BI], f"R beat spacing {lb['gaps']}, expected [{BI}]"
    assert out["long_write"]["gaps"][0] >= BI, f"W beats closer than BEAT_INTERVAL: {out['long_write']}"
    assert out["long_write"]["first_to_last_w"] == (n - 1) * BI, out["long_write"]
    st = out["stream"]
    assert st["ar_to_last_r"] == RL + (beats - 1) * BI, \
        f"{beats}-beat stream in {st['bursts']} bursts took {st['ar_to_last_r']} edges, " \
        f"expected {RL + (beats - 1) * BI} (outstanding bursts should hide the latency)"
    mixed = out["mixed"]
    total = mixed["read_beats"] + mixed["write_beats"]
    if p["shared_data_bus"]:
        # the DRAM side moves one beat per slot; the 2-entry R buffer may shift a beat by a slot
        assert mixed["first_to_last_beat"] >= (total - 1) * BI - 1, \
            f"shared bus moved {total} beats in {mixed['first_to_last_beat']} edges (BEAT_INTERVAL={BI})"
    else:
        assert mixed["first_to_last_beat"] < (total - 1) * BI, \
            f"split buses should overlap reads and writes: {mixed}"
    tb.finish()


@cocotb.test()
async def errors(dut):
    """DECERR beyond the memory, SLVERR for WRAP/FIXED/narrow bursts; nothing written."""
    tb = Bench(dut)
    await tb.start()
    shadow = tb.random_image()
    await tb.load(shadow)
    beat, top = tb.beat, tb.mem_bytes
    top_addr = (1 << tb.p["addr_w"]) - 4 * beat
    cases = []
    data = await tb.read(top, 4 * beat, expect=AxiResp.DECERR)
    cases.append("read beyond memory")
    assert data == bytes(4 * beat), "DECERR read data must be zero"
    await tb.read(top_addr, 4 * beat, expect=AxiResp.DECERR)
    cases.append("read at the top of the address space")
    await tb.write(top + 0x40 * beat, bytes([0xA5]) * 3 * beat, expect=AxiResp.DECERR)
    cases.append("write beyond memory")
    await tb.write(top_addr, bytes([0x5A]) * 4 * beat, expect=AxiResp.DECERR)
    data = await tb.read(0x40 * beat, 3 * beat)
    tb.check_memory(data, shadow[0x40 * beat:0x43 * beat], "aliased word after a DECERR write")
    for burst in (AxiBurstType.WRAP, AxiBurstType.FIXED):
        data = await tb.read(0x10 * beat, 4 * beat, expect=AxiResp.SLVERR, burst=burst)
        assert data == bytes(4 * beat), f"{burst.name} read data must be zero"
        await tb.write(0x10 * beat, bytes([0x3C]) * 4 * beat, expect=AxiResp.SLVERR, burst=burst)
        cases += [f"{burst.name} read", f"{burst.name} write"]
    narrow = (beat // 2).bit_length() - 1
    await tb.read(0x20 * beat, beat, expect=AxiResp.SLVERR, size=narrow)
    await tb.write(0x20 * beat, bytes([0x77]) * beat, expect=AxiResp.SLVERR, size=narrow)
    cases += ["narrow read", "narrow write"]
    # the port still works, and nothing above was written
    await tb.write(0x30 * beat + 3, b"\x01\x02\x03")
    shadow[0x30 * beat + 3:0x30 * beat + 6] = b"\x01\x02\x03"
    tb.check_memory(await tb.read(0x30 * beat, beat), shadow[0x30 * beat:0x31 * beat], "OKAY after errors")
    tb.check_memory(await tb.dump(), shadow, "memory after error responses")
    stats = await tb.stats()
    tb.report.update(cases=cases, stats=stats)
    rows = RowModel(tb.p)                     # only the three OKAY transfers touched the array
    rows.access([(0x40 * beat, 3), (0x30 * beat, 1), (0x30 * beat, 1)])
    assert stats["row_activations"] == rows.activations, \
        f"error bursts must not touch the array: {stats['row_activations']} activations, expected {rows.activations}"
    assert stats["read_bursts"] == 7 and stats["write_bursts"] == 6, stats
    tb.finish()


@cocotb.test()
async def counters(dut):
    """Every counter equals the value computed from the transfers issued (one at a time)."""
    tb = Bench(dut)
    await tb.start()
    rng, beat = tb.rng, tb.beat
    rows = RowModel(tb.p)
    expect = {"read_beats": 0, "write_beats": 0, "read_bursts": 0, "write_bursts": 0}
    span = min(tb.mem_bytes, 4 * tb.p["row_bytes"] * tb.p["banks"])
    for i in range(int(tb.opt.get("ops", 30))):
        length = rng.choice([beat, rng.randint(1, 8 * beat), rng.randint(1, 2 * PAGE)])
        addr = rng.randrange(span - length + 1)
        bursts = split_bursts(addr, length, beat)
        kind = "write" if i % 3 == 0 else "read"
        if kind == "write":
            await tb.write(addr, bytes(length))
        else:
            await tb.read(addr, length)
        rows.access(bursts)
        expect[f"{kind}_beats"] += sum(n for _, n in bursts)
        expect[f"{kind}_bursts"] += len(bursts)
    expect["row_activations"] = rows.activations
    expect["busy_cycles"] = expect["read_beats"] + expect["write_beats"]
    stats = await tb.stats()
    tb.report.update(stats=stats, expected=expect)
    for name, value in expect.items():
        assert stats[name] == value, f"stat_{name} = {stats[name]}, expected {value}"
    dut.rst.value = 1
    await ClockCycles(dut.clk, 2)
    dut.rst.value = 0
    await ClockCycles(dut.clk, 2)
    cleared = await tb.stats()
    assert all(v == 0 for v in cleared.values()), f"counters not cleared by rst: {cleared}"
    tb.finish()


@cocotb.test()
async def raw_channels(dut):
    """Raw AW/W/B/AR/R traffic: sparse strobes, ID echo, in-order R, wlast mismatch."""
    tb = Bench(dut)
    await tb.start(master=False)
    bus = AxiBus.from_prefix(dut, "s_axi")
    aw = AxiAWSource(bus.write.aw, dut.clk, dut.rst)
    w = AxiWSource(bus.write.w, dut.clk, dut.rst)
    b = AxiBSink(bus.write.b, dut.clk, dut.rst)
    ar = AxiARSource(bus.read.ar, dut.clk, dut.rst)
    r = AxiRSink(bus.read.r, dut.clk, dut.rst)
    for ch in (aw, w, b, ar, r):
        ch.set_pause_generator(pause_generator(random.Random(tb.rng.random()), 0.3))
    rng, beat, p = tb.rng, tb.beat, tb.p
    size = beat.bit_length() - 1
    strb_all = (1 << beat) - 1
    shadow = bytearray(tb.mem_bytes)          # the model starts zeroed
    words = tb.p["mem_words"]
    bursts = []
    for _ in range(int(tb.opt.get("bursts", 12))):
        length = rng.choice([1, 2, rng.randint(1, 16)])
        word = rng.randrange(words - length)
        bid = rng.randrange(1 << p["id_w"])
        aw.send_nowait(AxiAWTransaction(awid=bid, awaddr=word * beat, awlen=length - 1, awsize=size, awburst=1))
        for k in range(length):
            data = rng.getrandbits(8 * beat)
            strb = rng.choice([0, strb_all, rng.getrandbits(beat)])
            w.send_nowait(AxiWTransaction(wdata=data, wstrb=strb, wlast=int(k == length - 1)))
            raw = data.to_bytes(beat, "little")
            base = (word + k) * beat
            for lane in range(beat):
                if strb >> lane & 1:
                    shadow[base + lane] = raw[lane]
        bursts.append((bid, word, length))
    for bid, word, length in bursts:
        resp = await tb.guard(b.recv(), tb.budget(16 * len(bursts), True), f"B of burst id {bid}")
        assert (int(resp.bid), int(resp.bresp)) == (bid, 0), f"B {resp} for burst id {bid}: expected OKAY"
    # reads of the same words, all issued at once with distinct IDs: answered in AR order
    for bid, word, length in bursts:
        ar.send_nowait(AxiARTransaction(arid=bid, araddr=word * beat, arlen=length - 1, arsize=size, arburst=1))
    for bid, word, length in bursts:
        got = bytearray()
        for k in range(length):
            beat_t = await tb.guard(r.recv(), tb.budget(16 * len(bursts), True), f"R beat {k} of burst id {bid}")
            assert int(beat_t.rid) == bid, f"rid {int(beat_t.rid)}, expected {bid} (R must follow AR order)"
            assert int(beat_t.rresp) == 0 and int(beat_t.rlast) == int(k == length - 1), beat_t
            got += int(beat_t.rdata).to_bytes(beat, "little")
        tb.check_memory(bytes(got), shadow[word * beat:(word + length) * beat], f"sparse-strobe burst id {bid}")
    # wlast one beat early: the burst still takes awlen+1 beats and answers SLVERR
    aw.send_nowait(AxiAWTransaction(awid=3, awaddr=0, awlen=2, awsize=size, awburst=1))
    for k in range(3):
        w.send_nowait(AxiWTransaction(wdata=0, wstrb=strb_all, wlast=int(k == 1)))
    resp = await tb.guard(b.recv(), tb.budget(16, True), "B of the wlast-mismatch burst")
    assert (int(resp.bid), int(resp.bresp)) == (3, int(AxiResp.SLVERR)), f"wlast mismatch gave {resp}"
    tb.report["bursts"] = len(bursts)
    tb.finish()
