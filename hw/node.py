"""One accelerator of the SoC: array accelerator + DMA + layer sequencer.

A layer runs as: validate the descriptor -> DMA the inputs (and bias) into
the scratchpads -> start the array while the DMA streams the weight tiles
through the ring buffer -> DMA the results back.  Nothing touches memory
before validation passes.  The descriptor registers are latched at start,
so the host may program the next layer while one runs.  A bad descriptor
ends with an error code:

    bit 0  a zero dimension          bit 3  an access outside [win_base, win_limit)
    bit 1  the layer does not fit    bit 4  a bus error response
    bit 2  a misaligned address      bit 5  the array rejected the layer
"""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from . import axi
from .accelerator import MEM_BIAS, MEM_INPUTS, MEM_WEIGHTS, Accelerator
from .config import AcceleratorParams
from .dma import DMA, DMAParams

NODE_COUNTERS = ("cycles", "compute", "weight_wait", "stall", "drain", "weight_load",
                 "dma_stall", "bytes_read", "bytes_written", "array_cycles")
REGISTERS = ("m", "k", "n", "flags", "w_addr", "x_addr", "b_addr", "y_addr", "win_base", "win_limit")


class _Descriptor:
    """The layer registers as the node latched them at start."""

    def __init__(self):
        for name in REGISTERS:
            setattr(self, name, Signal(32, name=f"desc_{name}"))


class Node(wiring.Component):
    def __init__(self, accel: AcceleratorParams, dma: DMAParams, *, pe_factory=None):
        if not accel.weight_ring_tiles:
            raise ValueError("a SoC node streams its weights: weight_ring_tiles must be > 0")
        self.accel_params, self.dma_params = accel, dma
        self._pe_factory = pe_factory
        members = {"start": In(1), "busy": Out(1), "done": Out(1), "error": Out(8)}
        members.update({name: In(32) for name in REGISTERS})
        members.update({f"cnt_{name}": Out(32) for name in NODE_COUNTERS})
        members.update(axi.ports("m_axi", axi.axi4_channels(dma.addr_width, dma.data_width, dma.id_width),
                                 master=True))
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        ap, dp = self.accel_params, self.dma_params
        R, C = ap.rows, ap.cols
        m.submodules.accel = acc = Accelerator(ap, pe_factory=self._pe_factory)
        m.submodules.dma = dma = DMA(dp)
        bus = axi.Bundle.of(self, "m_axi", axi.axi4_channels(dp.addr_width, dp.data_width, dp.id_width))
        dbus = axi.Bundle.of(dma, "m_axi", axi.axi4_channels(dp.addr_width, dp.data_width, dp.id_width))
        axi.connect(m, dbus, bus, axi.axi4_channels(dp.addr_width, dp.data_width, dp.id_width))
        m.d.comb += [
            acc.wr_en.eq(dma.sp_wr_en), acc.wr_mem.eq(dma.sp_wr_mem), acc.wr_addr.eq(dma.sp_wr_addr),
            acc.wr_data.eq(dma.sp_wr_data),
            acc.rd_en.eq(dma.sp_rd_en), acc.rd_addr.eq(dma.sp_rd_addr), dma.sp_rd_data.eq(acc.rd_data),
            acc.w_arrived.eq(dma.ring_arrived), dma.ring_consumed.eq(acc.w_consumed),
        ]

        beat = dp.beat_bytes
        bytes_c = dp.beats_per_word(C) * beat          # DRAM bytes per C-lane word
        bytes_r = dp.beats_per_word(R) * beat
        kt, mt = Signal(17), Signal(17)
        x_words, b_words, w_words, y_words = Signal(34), Signal(17), Signal(51), Signal(34)
        err = Signal(8)
        busy, done = Signal(), Signal()
        cycles = Signal(32)
        m.d.comb += [self.busy.eq(busy), self.done.eq(done), self.error.eq(err), self.cnt_cycles.eq(cycles)]
        # the descriptor is latched at start: CSR writes while a layer runs program the next one
        d = _Descriptor()
        use_bias, relu = d.flags[0], d.flags[1]

        def inside(addr, nbytes):
            return (addr >= d.win_base) & (addr + nbytes <= d.win_limit)

        cmd = {"valid": dma.cmd_valid, "write": dma.cmd_write, "ring": dma.cmd_ring,
               "addr": dma.cmd_addr, "words": dma.cmd_words, "mem": dma.cmd_mem}
        issued = Signal()
        acc_started = Signal()

        with m.If(busy):
            m.d.sync += cycles.eq(cycles + 1)

        def dma_step(m, write, ring, addr, words, mem, next_state):
            m.d.comb += [cmd["valid"].eq(~issued), cmd["write"].eq(write), cmd["ring"].eq(ring),
                         cmd["addr"].eq(addr), cmd["words"].eq(words), cmd["mem"].eq(mem)]
            with m.If(~issued & dma.cmd_ready):
                m.d.sync += issued.eq(1)
            with m.If(issued & ~dma.busy):
                m.d.sync += issued.eq(0)
                with m.If(dma.error):
                    m.d.sync += err.eq(err | 0x10)
                    m.next = "DONE"
                with m.Else():
                    m.next = next_state

        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.start):
                    m.d.sync += [busy.eq(1), done.eq(0), err.eq(0), cycles.eq(0), issued.eq(0)]
                    m.d.sync += [getattr(d, r).eq(getattr(self, r)) for r in REGISTERS]
                    m.next = "SIZE"
            with m.State("SIZE"):
                m.d.sync += [kt.eq((d.k + (R - 1)) // R), mt.eq((d.m + (C - 1)) // C)]
                m.next = "WORDS"
            with m.State("WORDS"):
                m.d.sync += [x_words.eq(kt * d.n), b_words.eq(mt), w_words.eq(kt * mt * R),
                             y_words.eq(mt * d.n)]
                m.next = "CHECK"
            with m.State("CHECK"):
                zero = (d.m == 0) | (d.k == 0) | (d.n == 0)
                big = ((d.m > 0xFFFF) | (d.k > 0xFFFF) | (d.n > 0xFFFF)
                       | (x_words > ap.input_words) | (y_words > ap.acc_words)
                       | (use_bias & (b_words > ap.bias_words)))
                mis = ((d.w_addr | d.x_addr | d.y_addr | Mux(use_bias, d.b_addr, 0)) % beat) != 0
                outside = (~inside(d.w_addr, w_words * bytes_c) | ~inside(d.x_addr, x_words * bytes_r)
                           | ~inside(d.y_addr, y_words * bytes_c)
                           | (use_bias & ~inside(d.b_addr, b_words * bytes_c)))
                code = zero | (big << 1) | (mis << 2) | ((outside & ~zero & ~big) << 3)
                with m.If(code != 0):
                    m.d.sync += err.eq(code)
                    m.next = "DONE"
                with m.Else():
                    m.next = "LOAD_X"
            with m.State("LOAD_X"):
                dma_step(m, 0, 0, d.x_addr, x_words, MEM_INPUTS, "LOAD_B")
            with m.State("LOAD_B"):
                with m.If(use_bias):
                    dma_step(m, 0, 0, d.b_addr, b_words, MEM_BIAS, "RUN")
                with m.Else():
                    m.next = "RUN"
            with m.State("RUN"):
                # start the array once, and stream the weights alongside
                m.d.comb += [acc.m.eq(d.m), acc.k.eq(d.k), acc.n.eq(d.n),
                             acc.use_bias.eq(use_bias), acc.relu.eq(relu), acc.start.eq(~acc_started)]
                with m.If(~acc_started):
                    m.d.sync += acc_started.eq(1)
                m.d.comb += [cmd["valid"].eq(~issued), cmd["write"].eq(0), cmd["ring"].eq(1),
                             cmd["addr"].eq(d.w_addr), cmd["words"].eq(w_words), cmd["mem"].eq(MEM_WEIGHTS)]
                with m.If(~issued & dma.cmd_ready):
                    m.d.sync += issued.eq(1)
                with m.If(acc_started & issued & ~dma.busy & ~acc.busy & acc.done):
                    m.d.sync += [issued.eq(0), acc_started.eq(0)]
                    with m.If(dma.error | acc.error):
                        m.d.sync += err.eq(err | Mux(dma.error, 0x10, 0) | Mux(acc.error, 0x20, 0))
                        m.next = "DONE"
                    with m.Else():
                        m.next = "STORE"
            with m.State("STORE"):
                dma_step(m, 1, 0, d.y_addr, y_words, 0, "DONE")
            with m.State("DONE"):
                m.d.sync += [busy.eq(0), done.eq(1)]
                m.next = "IDLE"

        m.d.comb += [
            self.cnt_compute.eq(acc.cycles_compute), self.cnt_weight_wait.eq(acc.cycles_weight_wait),
            self.cnt_stall.eq(acc.cycles_stall), self.cnt_drain.eq(acc.cycles_drain),
            self.cnt_weight_load.eq(acc.cycles_weight_load), self.cnt_array_cycles.eq(acc.cycles_total),
            self.cnt_dma_stall.eq(dma.stall_cycles), self.cnt_bytes_read.eq(dma.bytes_read),
            self.cnt_bytes_written.eq(dma.bytes_written),
        ]
        return m
