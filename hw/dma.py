"""AXI4 DMA engine: moves scratchpad words between DRAM and one accelerator.

Each scratchpad word (L floats) occupies ``ceil(32*L / W)`` whole bus beats in
DRAM (W = data width), so every beat belongs to exactly one word and reads
never need back-pressure.  Commands:

* read ``words`` words from ``addr`` into scratchpad ``mem`` (weights, inputs
  or bias); with ``ring`` set the target is the weight ring buffer and the DMA
  keeps at most ``ring_words`` words ahead of what the accelerator consumed,
  so weight tiles stream in while earlier tiles compute;
* write ``words`` accumulator words to ``addr``.

Bursts are INCR, up to 256 beats, never crossing a 4 KiB boundary; up to
``max_reads`` read bursts are outstanding.  A non-OKAY response sets ``error``.
"""

from dataclasses import dataclass

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from . import axi
from .accelerator import MEM_BIAS, MEM_INPUTS, MEM_WEIGHTS


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


def _min(a, b):
    return Mux(a < b, a, b)


class DMA(wiring.Component):
    def __init__(self, params: DMAParams):
        self.params = params
        p = params
        wide = 32 * max(p.rows, p.cols)
        members = {
            "cmd_valid": In(1), "cmd_ready": Out(1), "cmd_write": In(1), "cmd_ring": In(1),
            "cmd_addr": In(p.addr_width), "cmd_words": In(24), "cmd_mem": In(2),
            "busy": Out(1), "error": Out(1),
            "sp_wr_en": Out(1), "sp_wr_mem": Out(2), "sp_wr_addr": Out(24), "sp_wr_data": Out(wide),
            "sp_rd_en": Out(1), "sp_rd_addr": Out(24), "sp_rd_data": In(32 * p.cols),
            "ring_consumed": In(32), "ring_arrived": Out(32),
            "bytes_read": Out(32), "bytes_written": Out(32), "stall_cycles": Out(32),
        }
        members.update(axi.ports("m_axi", axi.axi4_channels(p.addr_width, p.data_width, p.id_width), master=True))
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        p = self.params
        W = p.data_width
        bus = axi.Bundle.of(self, "m_axi", axi.axi4_channels(p.addr_width, p.data_width, p.id_width))
        k_cols, k_rows = p.beats_per_word(p.cols), p.beats_per_word(p.rows)
        size_code = (p.beat_bytes).bit_length() - 1

        # ---- command latch
        active, writing, ring, error = Signal(), Signal(), Signal(), Signal()
        mem = Signal(2)
        k = Signal(range(max(k_cols, k_rows) + 1))
        total_beats = Signal(34)
        m.d.comb += [self.cmd_ready.eq(~active), self.busy.eq(active), self.error.eq(error)]

        # read side
        ar_addr, ar_left = Signal(p.addr_width), Signal(34)
        beats_issued = Signal(34)
        outstanding = Signal(range(p.max_reads + 1))
        r_left = Signal(34)
        beat_in_word = Signal(range(max(k_cols, k_rows) + 1))
        word_ptr = Signal(24)
        arrived = Signal(32)
        stash = Signal(max(1, (max(k_cols, k_rows) - 1) * W))
        # write side
        aw_addr, aw_left, aw_bursts = Signal(p.addr_width), Signal(34), Signal(34)
        w_addr, w_left, w_bursts, w_burst_left = Signal(p.addr_width), Signal(34), Signal(34), Signal(9)
        w_in_burst = Signal()
        w_word = Signal(32 * p.cols)
        w_beat = Signal(range(k_cols + 1))
        w_word_ptr = Signal(24)
        w_have = Signal()
        bytes_read, bytes_written, stalls = Signal(32), Signal(32), Signal(32)
        m.d.comb += [self.bytes_read.eq(bytes_read), self.bytes_written.eq(bytes_written),
                     self.stall_cycles.eq(stalls), self.ring_arrived.eq(arrived)]

        with m.If(self.cmd_valid & ~active):
            lanes_k = Mux(self.cmd_write | (self.cmd_mem != MEM_INPUTS), k_cols, k_rows)
            beats = self.cmd_words * lanes_k
            m.d.sync += [
                active.eq(self.cmd_words != 0), writing.eq(self.cmd_write), ring.eq(self.cmd_ring),
                mem.eq(self.cmd_mem), k.eq(lanes_k), total_beats.eq(beats), error.eq(0),
                ar_addr.eq(self.cmd_addr), ar_left.eq(Mux(self.cmd_write, 0, beats)), beats_issued.eq(0),
                r_left.eq(Mux(self.cmd_write, 0, beats)), beat_in_word.eq(0), word_ptr.eq(0),
                aw_addr.eq(self.cmd_addr), aw_left.eq(Mux(self.cmd_write, beats, 0)), aw_bursts.eq(0),
                w_addr.eq(self.cmd_addr), w_left.eq(Mux(self.cmd_write, beats, 0)), w_bursts.eq(0),
                w_in_burst.eq(0), w_beat.eq(0), w_word_ptr.eq(0), w_have.eq(0),
            ]
            m.d.sync += arrived.eq(0)

        def burst_beats(addr, left):
            to_page = (4096 - addr[0:12]) >> size_code
            return _min(_min(left, 256), to_page)

        # ---- AR issue
        ar_len = Signal(34)
        ring_room = Signal(34)
        ring_cap = (self.ring_consumed + p.ring_words) * k if p.ring_words else 0
        m.d.comb += [
            ar_len.eq(burst_beats(ar_addr, ar_left)),
            ring_room.eq(Mux(ring, Mux(ring_cap > beats_issued, ring_cap - beats_issued, 0), ar_len)),
        ]
        # in ring mode a burst never asks for more than the ring can take now;
        # once offered, the burst is held unchanged until ARREADY (AXI: the
        # payload must not change under VALID, though the ring room grows)
        ar_beats, ar_offer = Signal(34), Signal(34)
        ar_held, ar_hold = Signal(range(257)), Signal()
        m.d.comb += ar_offer.eq(Mux(ring, _min(ar_len, ring_room), ar_len))
        m.d.comb += ar_beats.eq(Mux(ar_hold, ar_held, ar_offer))
        ar_go = active & ~writing & (ar_left != 0) & (outstanding < p.max_reads) & (ar_beats != 0)
        with m.If(ar_go & ~bus.arready):
            m.d.sync += [ar_hold.eq(1), ar_held.eq(ar_beats)]
        with m.Else():
            m.d.sync += ar_hold.eq(0)
        m.d.comb += [
            bus.arvalid.eq(ar_go), bus.araddr.eq(ar_addr), bus.arlen.eq(ar_beats - 1),
            bus.arsize.eq(size_code), bus.arburst.eq(axi.BURST_INCR), bus.arid.eq(0),
        ]
        ar_fire = ar_go & bus.arready
        r_fire = bus.rvalid & bus.rready
        m.d.comb += bus.rready.eq(active & ~writing & (r_left != 0))
        with m.If(ar_fire):
            m.d.sync += [ar_addr.eq(ar_addr + (ar_beats << size_code)), ar_left.eq(ar_left - ar_beats),
                         beats_issued.eq(beats_issued + ar_beats)]
        with m.If(ar_fire & ~(r_fire & bus.rlast)):
            m.d.sync += outstanding.eq(outstanding + 1)
        with m.Elif(~ar_fire & r_fire & bus.rlast):
            m.d.sync += outstanding.eq(outstanding - 1)

        # ---- R receive: assemble words, write the scratchpad
        last_beat = beat_in_word == k - 1
        # place this beat after the stashed ones: the stash holds beats 0..k-2 in order
        word_data = Signal(len(self.sp_wr_data))
        assembled = Signal(max(k_cols, k_rows) * W)
        for kk in range(1, max(k_cols, k_rows) + 1):
            with m.If(k == kk):
                m.d.comb += assembled.eq(Cat(stash[:(kk - 1) * W], bus.rdata) if kk > 1 else bus.rdata)
        m.d.comb += word_data.eq(assembled[:len(word_data)])
        ring_addr = Signal(24)
        m.d.comb += ring_addr.eq(word_ptr)
        m.d.comb += [
            self.sp_wr_en.eq(r_fire & last_beat), self.sp_wr_mem.eq(mem),
            self.sp_wr_addr.eq(ring_addr), self.sp_wr_data.eq(word_data),
        ]
        with m.If(r_fire):
            m.d.sync += [r_left.eq(r_left - 1), bytes_read.eq(bytes_read + p.beat_bytes)]
            with m.If(bus.rresp != axi.RESP_OKAY):
                m.d.sync += error.eq(1)
            with m.If(last_beat):
                m.d.sync += [beat_in_word.eq(0), arrived.eq(arrived + 1)]
                if p.ring_words:
                    m.d.sync += word_ptr.eq(Mux(ring & (word_ptr == p.ring_words - 1), 0, word_ptr + 1))
                else:
                    m.d.sync += word_ptr.eq(word_ptr + 1)
            with m.Else():
                m.d.sync += beat_in_word.eq(beat_in_word + 1)
                if max(k_cols, k_rows) > 1:
                    for kk in range(max(k_cols, k_rows) - 1):
                        with m.If(beat_in_word == kk):
                            m.d.sync += stash[kk * W:(kk + 1) * W].eq(bus.rdata)

        # ---- AW issue
        aw_len = Signal(34)
        m.d.comb += aw_len.eq(burst_beats(aw_addr, aw_left))
        aw_go = active & writing & (aw_left != 0)
        m.d.comb += [
            bus.awvalid.eq(aw_go), bus.awaddr.eq(aw_addr), bus.awlen.eq(aw_len - 1),
            bus.awsize.eq(size_code), bus.awburst.eq(axi.BURST_INCR), bus.awid.eq(0),
        ]
        aw_fire = aw_go & bus.awready
        with m.If(aw_fire):
            m.d.sync += [aw_addr.eq(aw_addr + (aw_len << size_code)), aw_left.eq(aw_left - aw_len),
                         aw_bursts.eq(aw_bursts + 1)]

        # ---- W data: accumulator words through the result port (sync read:
        # rd_data shows the word read at rd_addr_q, valid once read).  The
        # port reads each word once (SRAM energy), only while outputs are
        # written; while a word's beats go out, the next word is being read.
        rd_addr_q, rd_valid = Signal(24), Signal()
        want_read = active & writing
        m.d.comb += [self.sp_rd_addr.eq(Mux(w_have, w_word_ptr + 1, w_word_ptr)),
                     self.sp_rd_en.eq(want_read & ~(rd_valid & (rd_addr_q == self.sp_rd_addr)))]
        with m.If(self.sp_rd_en):
            m.d.sync += [rd_addr_q.eq(self.sp_rd_addr), rd_valid.eq(1)]
        with m.Elif(~want_read):
            m.d.sync += rd_valid.eq(0)
        with m.If(active & writing & ~w_have & rd_valid & (rd_addr_q == w_word_ptr)):
            m.d.sync += [w_word.eq(self.sp_rd_data), w_have.eq(1)]
        beat_data = Signal(W)
        for kk in range(k_cols):
            with m.If(w_beat == kk):
                m.d.comb += beat_data.eq(Cat(w_word, Const(0, k_cols * W))[kk * W:(kk + 1) * W])
        w_len = Signal(34)
        m.d.comb += w_len.eq(burst_beats(w_addr, w_left))
        w_go = active & writing & w_have & (w_left != 0) & (w_in_burst | (w_bursts < aw_bursts))
        m.d.comb += [bus.wvalid.eq(w_go), bus.wdata.eq(beat_data),
                     bus.wstrb.eq((1 << (W // 8)) - 1),
                     bus.wlast.eq(Mux(w_in_burst, w_burst_left == 1, w_len == 1))]
        w_fire = w_go & bus.wready
        with m.If(w_fire):
            m.d.sync += [w_left.eq(w_left - 1), bytes_written.eq(bytes_written + p.beat_bytes),
                         w_addr.eq(w_addr + p.beat_bytes)]
            with m.If(~w_in_burst):
                m.d.sync += [w_in_burst.eq(w_len != 1), w_burst_left.eq(w_len - 1)]
                with m.If(w_len == 1):
                    m.d.sync += w_bursts.eq(w_bursts + 1)
            with m.Else():
                m.d.sync += w_burst_left.eq(w_burst_left - 1)
                with m.If(w_burst_left == 1):
                    m.d.sync += [w_in_burst.eq(0), w_bursts.eq(w_bursts + 1)]
            with m.If(w_beat == k_cols - 1):
                m.d.sync += [w_beat.eq(0), w_word_ptr.eq(w_word_ptr + 1)]
                with m.If(rd_valid & (rd_addr_q == w_word_ptr + 1)):
                    m.d.sync += w_word.eq(self.sp_rd_data)
                with m.Else():
                    m.d.sync += w_have.eq(0)
            with m.Else():
                m.d.sync += w_beat.eq(w_beat + 1)

        # ---- B responses
        m.d.comb += bus.bready.eq(active & writing)
        b_fire = bus.bvalid & bus.bready
        b_done = Signal(34)
        with m.If(self.cmd_valid & ~active):
            m.d.sync += b_done.eq(0)
        with m.Elif(b_fire):
            m.d.sync += b_done.eq(b_done + 1)
            with m.If(bus.bresp != axi.RESP_OKAY):
                m.d.sync += error.eq(1)

        # ---- completion and stall accounting
        read_done = ~writing & (ar_left == 0) & (r_left == 0)
        write_done = writing & (w_left == 0) & (aw_left == 0) & (b_done == aw_bursts) & ~b_fire
        with m.If(active & (read_done | write_done)):
            m.d.sync += active.eq(0)
        with m.If(active & ~r_fire & ~w_fire):
            m.d.sync += stalls.eq(stalls + 1)
        return m
