"""AXI4 DMA engine: moves scratchpad words between DRAM and one accelerator.

Each scratchpad word (L floats) occupies ``ceil(32*L / W)`` whole bus beats in
DRAM (W = data width), so every beat belongs to exactly one word and reads
never need back-pressure.  Commands (a ``lib.stream`` of :func:`command_layout`):

* read ``words`` words from ``addr`` into scratchpad ``mem`` (weights, inputs
  or bias); with ``ring`` set the target is the weight ring buffer and the DMA
  keeps at most ``ring_words`` words ahead of what the accelerator consumed,
  so weight tiles stream in while earlier tiles compute;
* write ``words`` accumulator words to ``addr``.

Bursts are INCR, up to 256 beats, never crossing a 4 KiB boundary; up to
``max_reads`` read bursts are outstanding.  A non-OKAY response sets ``error``.
The read side (AR, R) is :class:`DMAReader`, the write side (AW, W, B)
:class:`DMAWriter`; this component latches the command and runs one of them.
"""

from dataclasses import dataclass

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .axi import AXI4Signature, Burst, Resp
from .scratchpad import (ADDR_BITS, Mem, RingSignature, ScratchpadReadSignature,
                         ScratchpadWriteSignature)

MAX_BURST_BEATS = 256
PAGE_BYTES = 4096
BEAT_COUNT_BITS = 34        # words (24 bits) x beats per word (up to 16 at 32 bits / 512 lanes)


@dataclass(frozen=True)
class DMAParams:
    rows: int
    cols: int
    data_width: int = 512
    addr_width: int = 32
    id_width: int = 4
    max_reads: int = 4
    ring_words: int = 0          # weight ring size in words (0: no streaming)

    def __post_init__(self):
        if self.data_width not in (32, 64, 128, 256, 512):
            raise ValueError(f"bus data width must be 32, 64, 128, 256 or 512 bits, got {self.data_width}")
        if not 1 <= self.max_reads <= 64:
            raise ValueError("max_reads must be from 1 to 64")

    def beats_per_word(self, lanes: int) -> int:
        return -(-32 * lanes // self.data_width)

    @property
    def beat_bytes(self) -> int:
        return self.data_width // 8

    @property
    def size_code(self) -> int:
        """AxSIZE: log2 of the bytes per beat."""
        return self.beat_bytes.bit_length() - 1

    @property
    def max_beats_per_word(self) -> int:
        return max(self.beats_per_word(self.cols), self.beats_per_word(self.rows))

    @property
    def bus(self) -> AXI4Signature:
        return AXI4Signature(addr_width=self.addr_width, data_width=self.data_width, id_width=self.id_width)


def command_layout(addr_width: int) -> data.StructLayout:
    return data.StructLayout({"write": 1, "ring": 1, "mem": Mem, "words": ADDR_BITS, "addr": addr_width})


def _min(a, b):
    return Mux(a < b, a, b)


def _burst_beats(p: DMAParams, addr, left):
    """Beats of the next burst from ``addr``: at most 256, and within its 4 KiB page."""
    to_page = (PAGE_BYTES - addr[0:12]) >> p.size_code
    return _min(_min(left, MAX_BURST_BEATS), to_page)


class DMA(wiring.Component):
    def __init__(self, params: DMAParams):
        self.params = params
        p = params
        super().__init__({
            "cmd": In(stream.Signature(command_layout(p.addr_width))),
            "busy": Out(1), "error": Out(1),
            "sp_wr": Out(ScratchpadWriteSignature(32 * max(p.rows, p.cols))),
            "sp_rd": Out(ScratchpadReadSignature(32 * p.cols)),
            "ring": Out(RingSignature()),
            "bytes_read": Out(32), "bytes_written": Out(32), "stall_cycles": Out(32),
            "m_axi": Out(p.bus),
        })

    def elaborate(self, platform):
        m = Module()
        p = self.params
        m.submodules.reader = reader = DMAReader(p)
        m.submodules.writer = writer = DMAWriter(p)
        wiring.connect(m, reader.sp_wr, wiring.flipped(self.sp_wr))
        wiring.connect(m, reader.ring, wiring.flipped(self.ring))
        wiring.connect(m, writer.sp_rd, wiring.flipped(self.sp_rd))
        bus = wiring.flipped(self.m_axi)
        wiring.connect(m, reader.ar, bus.ar)
        wiring.connect(m, reader.r, bus.r)
        wiring.connect(m, writer.aw, bus.aw)
        wiring.connect(m, writer.w, bus.w)
        wiring.connect(m, writer.b, bus.b)

        active, writing, error, stalls = Signal(), Signal(), Signal(), Signal(32)
        cmd = self.cmd.payload
        start = self.cmd.valid & ~active
        # words of C floats, but inputs are words of R floats
        beats_per_word = Mux(cmd.write | (cmd.mem != Mem.INPUTS),
                             p.beats_per_word(p.cols), p.beats_per_word(p.rows))
        beats = cmd.words * beats_per_word
        m.d.comb += [
            self.cmd.ready.eq(~active), self.busy.eq(active), self.error.eq(error),
            self.bytes_read.eq(reader.bytes), self.bytes_written.eq(writer.bytes), self.stall_cycles.eq(stalls),
            reader.start.eq(start), reader.enable.eq(active & ~writing), reader.addr.eq(cmd.addr),
            reader.beats.eq(Mux(cmd.write, 0, beats)), reader.beats_per_word.eq(beats_per_word),
            reader.mem.eq(cmd.mem), reader.ring_mode.eq(cmd.ring),
            writer.start.eq(start), writer.enable.eq(active & writing), writer.addr.eq(cmd.addr),
            writer.beats.eq(Mux(cmd.write, beats, 0)),
        ]
        with m.If(start):
            m.d.sync += [active.eq(cmd.words != 0), writing.eq(cmd.write), error.eq(0)]
        with m.If(reader.bad_response | writer.bad_response):
            m.d.sync += error.eq(1)
        with m.If(active & Mux(writing, writer.idle, reader.idle)):
            m.d.sync += active.eq(0)
        with m.If(active & ~reader.beat & ~writer.beat):
            m.d.sync += stalls.eq(stalls + 1)
        return m


def _engine_ports(p: DMAParams) -> dict:
    """What the DMA gives and takes of either engine: the command (latched on ``start``),
    ``enable`` while it runs, and its completion, beats, bad responses and bytes moved."""
    return {"start": In(1), "enable": In(1), "addr": In(p.addr_width), "beats": In(BEAT_COUNT_BITS),
            "idle": Out(1), "beat": Out(1), "bad_response": Out(1), "bytes": Out(32)}


class DMAReader(wiring.Component):
    """AR bursts and R beats: assembles whole words and writes them to a scratchpad.

    In ring mode a burst never asks for more beats than the ring can take
    now; once offered, it is held unchanged until ARREADY (AXI: the payload
    must not change under VALID, though the ring's room grows meanwhile).
    """

    def __init__(self, params: DMAParams):
        self.params = params
        p = params
        bus = p.bus.members
        super().__init__({
            **_engine_ports(p),
            "beats_per_word": In(range(p.max_beats_per_word + 1)), "mem": In(Mem), "ring_mode": In(1),
            "ar": bus["ar"], "r": bus["r"],          # the bus members, directions included
            "sp_wr": Out(ScratchpadWriteSignature(32 * max(p.rows, p.cols))),
            "ring": Out(RingSignature()),
        })

    def elaborate(self, platform):
        m = Module()
        p = self.params
        ar_addr, ar_left, issued = Signal(p.addr_width), Signal(BEAT_COUNT_BITS), Signal(BEAT_COUNT_BITS)
        r_left = Signal(BEAT_COUNT_BITS)
        k = Signal.like(self.beats_per_word)
        mem, ring = Signal(Mem), Signal()
        arrived, nbytes = Signal(32), Signal(32)
        with m.If(self.start):
            m.d.sync += [ar_addr.eq(self.addr), ar_left.eq(self.beats), issued.eq(0), r_left.eq(self.beats),
                         k.eq(self.beats_per_word), mem.eq(self.mem), ring.eq(self.ring_mode), arrived.eq(0)]
        r_fire = self.r.valid & self.r.ready
        m.d.comb += [self.idle.eq((ar_left == 0) & (r_left == 0)), self.beat.eq(r_fire),
                     self.bad_response.eq(r_fire & (self.r.resp != Resp.OKAY)),
                     self.bytes.eq(nbytes), self.ring.arrived.eq(arrived),
                     self.r.ready.eq(self.enable & (r_left != 0))]
        self._address(m, ar_addr, ar_left, issued, ring, k)
        with m.If(r_fire):
            m.d.sync += [r_left.eq(r_left - 1), nbytes.eq(nbytes + p.beat_bytes)]
        self._assemble(m, k, mem, ring, arrived)
        return m

    def _address(self, m, ar_addr, ar_left, issued, ring, k):
        """Issue AR bursts while fewer than ``max_reads`` are outstanding (and the ring has room)."""
        p = self.params
        outstanding = Signal(range(p.max_reads + 1))
        ar_len = Signal(BEAT_COUNT_BITS)
        ring_room = Signal(BEAT_COUNT_BITS)
        ring_cap = (self.ring.consumed + p.ring_words) * k if p.ring_words else 0
        m.d.comb += [
            ar_len.eq(_burst_beats(p, ar_addr, ar_left)),
            ring_room.eq(Mux(ring, Mux(ring_cap > issued, ring_cap - issued, 0), ar_len)),
        ]
        ar_beats, ar_offer = Signal(BEAT_COUNT_BITS), Signal(BEAT_COUNT_BITS)
        ar_held, ar_hold = Signal(range(MAX_BURST_BEATS + 1)), Signal()
        m.d.comb += [ar_offer.eq(Mux(ring, _min(ar_len, ring_room), ar_len)),
                     ar_beats.eq(Mux(ar_hold, ar_held, ar_offer))]
        ar_go = self.enable & (ar_left != 0) & (outstanding < p.max_reads) & (ar_beats != 0)
        with m.If(ar_go & ~self.ar.ready):
            m.d.sync += [ar_hold.eq(1), ar_held.eq(ar_beats)]
        with m.Else():
            m.d.sync += ar_hold.eq(0)
        m.d.comb += [
            self.ar.valid.eq(ar_go), self.ar.addr.eq(ar_addr), self.ar.len.eq(ar_beats - 1),
            self.ar.size.eq(p.size_code), self.ar.burst.eq(Burst.INCR), self.ar.id.eq(0),
        ]
        ar_fire = ar_go & self.ar.ready
        burst_done = self.r.valid & self.r.ready & self.r.last
        with m.If(ar_fire):
            m.d.sync += [ar_addr.eq(ar_addr + (ar_beats << p.size_code)), ar_left.eq(ar_left - ar_beats),
                         issued.eq(issued + ar_beats)]
        with m.If(ar_fire & ~burst_done):
            m.d.sync += outstanding.eq(outstanding + 1)
        with m.Elif(~ar_fire & burst_done):
            m.d.sync += outstanding.eq(outstanding - 1)

    def _assemble(self, m, k, mem, ring, arrived):
        """Stash beats 0..k-2 of a word; write the whole word with its last beat."""
        p = self.params
        W, most = p.data_width, p.max_beats_per_word
        beat_in_word = Signal(range(most + 1))
        word_ptr = Signal(ADDR_BITS)
        stash = Signal(max(1, (most - 1) * W))
        r_fire = self.r.valid & self.r.ready
        last_beat = beat_in_word == k - 1
        assembled = Signal(most * W)
        for kk in range(1, most + 1):
            with m.If(k == kk):
                m.d.comb += assembled.eq(Cat(stash[:(kk - 1) * W], self.r.data) if kk > 1 else self.r.data)
        m.d.comb += [
            self.sp_wr.en.eq(r_fire & last_beat), self.sp_wr.mem.eq(mem),
            self.sp_wr.addr.eq(word_ptr), self.sp_wr.data.eq(assembled[:len(self.sp_wr.data)]),
        ]
        with m.If(self.start):
            m.d.sync += [beat_in_word.eq(0), word_ptr.eq(0)]
        with m.Elif(r_fire & last_beat):
            m.d.sync += [beat_in_word.eq(0), arrived.eq(arrived + 1)]
            if p.ring_words:
                m.d.sync += word_ptr.eq(Mux(ring & (word_ptr == p.ring_words - 1), 0, word_ptr + 1))
            else:
                m.d.sync += word_ptr.eq(word_ptr + 1)
        with m.Elif(r_fire):
            m.d.sync += beat_in_word.eq(beat_in_word + 1)
            for kk in range(most - 1):
                with m.If(beat_in_word == kk):
                    m.d.sync += stash[kk * W:(kk + 1) * W].eq(self.r.data)


class DMAWriter(wiring.Component):
    """AW bursts, W beats from the accumulator words, B responses.

    The result port is read once per word (SRAM energy), only while a write
    command runs; while a word's beats go out, the next word is being read.
    """

    def __init__(self, params: DMAParams):
        self.params = params
        p = params
        bus = p.bus.members
        super().__init__({
            **_engine_ports(p),
            "aw": bus["aw"], "w": bus["w"], "b": bus["b"],
            "sp_rd": Out(ScratchpadReadSignature(32 * p.cols)),
        })

    def elaborate(self, platform):
        m = Module()
        aw_left, aw_bursts = Signal(BEAT_COUNT_BITS), Signal(BEAT_COUNT_BITS)
        w_left = Signal(BEAT_COUNT_BITS)
        b_done = Signal(BEAT_COUNT_BITS)
        self._address(m, aw_left, aw_bursts)
        self._data(m, w_left, aw_bursts)
        m.d.comb += self.b.ready.eq(self.enable)
        b_fire = self.b.valid & self.b.ready
        with m.If(self.start):
            m.d.sync += b_done.eq(0)
        with m.Elif(b_fire):
            m.d.sync += b_done.eq(b_done + 1)
        m.d.comb += [
            self.bad_response.eq(b_fire & (self.b.resp != Resp.OKAY)),
            self.idle.eq((w_left == 0) & (aw_left == 0) & (b_done == aw_bursts) & ~b_fire),
        ]
        return m

    def _address(self, m, aw_left, aw_bursts):
        p = self.params
        aw_addr = Signal(p.addr_width)
        aw_len = Signal(BEAT_COUNT_BITS)
        m.d.comb += aw_len.eq(_burst_beats(p, aw_addr, aw_left))
        aw_go = self.enable & (aw_left != 0)
        m.d.comb += [
            self.aw.valid.eq(aw_go), self.aw.addr.eq(aw_addr), self.aw.len.eq(aw_len - 1),
            self.aw.size.eq(p.size_code), self.aw.burst.eq(Burst.INCR), self.aw.id.eq(0),
        ]
        with m.If(self.start):
            m.d.sync += [aw_addr.eq(self.addr), aw_left.eq(self.beats), aw_bursts.eq(0)]
        with m.Elif(aw_go & self.aw.ready):
            m.d.sync += [aw_addr.eq(aw_addr + (aw_len << p.size_code)), aw_left.eq(aw_left - aw_len),
                         aw_bursts.eq(aw_bursts + 1)]

    def _data(self, m, w_left, aw_bursts):
        """W beats: a word is fetched through the result port, then sent as k beats."""
        p = self.params
        W, k = p.data_width, p.beats_per_word(p.cols)
        w_addr, w_bursts, w_burst_left = Signal(p.addr_width), Signal(BEAT_COUNT_BITS), \
            Signal(range(MAX_BURST_BEATS + 1))
        w_in_burst, w_have = Signal(), Signal()
        w_word = Signal(32 * p.cols)
        w_beat = Signal(range(k + 1))
        w_word_ptr = Signal(ADDR_BITS)
        rd_addr_q, rd_valid = Signal(ADDR_BITS), Signal()
        nbytes = Signal(32)
        m.d.comb += [self.sp_rd.addr.eq(Mux(w_have, w_word_ptr + 1, w_word_ptr)),
                     self.sp_rd.en.eq(self.enable & ~(rd_valid & (rd_addr_q == self.sp_rd.addr))),
                     self.bytes.eq(nbytes)]
        with m.If(self.sp_rd.en):
            m.d.sync += [rd_addr_q.eq(self.sp_rd.addr), rd_valid.eq(1)]
        with m.Elif(~self.enable):
            m.d.sync += rd_valid.eq(0)
        with m.If(self.enable & ~w_have & rd_valid & (rd_addr_q == w_word_ptr)):
            m.d.sync += [w_word.eq(self.sp_rd.data), w_have.eq(1)]
        beat_data = Signal(W)
        for kk in range(k):
            with m.If(w_beat == kk):
                m.d.comb += beat_data.eq(Cat(w_word, Const(0, k * W))[kk * W:(kk + 1) * W])
        w_len = Signal(BEAT_COUNT_BITS)
        m.d.comb += w_len.eq(_burst_beats(p, w_addr, w_left))
        w_go = self.enable & w_have & (w_left != 0) & (w_in_burst | (w_bursts < aw_bursts))
        m.d.comb += [self.w.valid.eq(w_go), self.w.data.eq(beat_data), self.w.strb.eq((1 << (W // 8)) - 1),
                     self.w.last.eq(Mux(w_in_burst, w_burst_left == 1, w_len == 1))]
        w_fire = w_go & self.w.ready
        m.d.comb += self.beat.eq(w_fire)
        with m.If(self.start):
            m.d.sync += [w_addr.eq(self.addr), w_left.eq(self.beats), w_bursts.eq(0), w_in_burst.eq(0),
                         w_beat.eq(0), w_word_ptr.eq(0), w_have.eq(0)]
        with m.Elif(w_fire):
            m.d.sync += [w_left.eq(w_left - 1), nbytes.eq(nbytes + p.beat_bytes), w_addr.eq(w_addr + p.beat_bytes)]
            with m.If(~w_in_burst):
                m.d.sync += [w_in_burst.eq(w_len != 1), w_burst_left.eq(w_len - 1)]
                with m.If(w_len == 1):
                    m.d.sync += w_bursts.eq(w_bursts + 1)
            with m.Else():
                m.d.sync += w_burst_left.eq(w_burst_left - 1)
                with m.If(w_burst_left == 1):
                    m.d.sync += [w_in_burst.eq(0), w_bursts.eq(w_bursts + 1)]
            with m.If(w_beat == k - 1):
                m.d.sync += [w_beat.eq(0), w_word_ptr.eq(w_word_ptr + 1)]
                with m.If(rd_valid & (rd_addr_q == w_word_ptr + 1)):
                    m.d.sync += w_word.eq(self.sp_rd.data)
                with m.Else():
                    m.d.sync += w_have.eq(0)
            with m.Else():
                m.d.sync += w_beat.eq(w_beat + 1)
