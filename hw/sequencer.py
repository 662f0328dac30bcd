"""The layer sequencer of one SoC node: descriptor registers in, DMA commands and the array's start out.

A layer runs as: latch the descriptor -> size it -> validate it -> DMA the
inputs (and bias) into the scratchpads -> start the array while the DMA
streams the weight tiles through the ring buffer -> DMA the results back,
from as soon as the last weight tile is in (each word once it is final).
Nothing touches memory before validation passes, and the descriptor is
latched at start, so the host may program the next layer while one runs.
"""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import enum, stream, wiring
from amaranth.lib.wiring import In, Out

from .accelerator import DIM_BITS, TILE_BITS, VECTOR_BITS, LayerSignature
from .config import AcceleratorParams
from .dma import DMAParams, command_layout
from .scratchpad import Mem

MAX_DIMENSION = 0xFFFF


class Reg(enum.IntEnum):
    """The layer registers, in CSR order (offset 0x08 + 4 * index)."""
    M = 0
    K = 1
    N = 2
    FLAGS = 3          # bit 0 bias, bit 1 ReLU
    W_ADDR = 4
    X_ADDR = 5
    B_ADDR = 6
    Y_ADDR = 7
    WIN_BASE = 8       # the DRAM window [WIN_BASE, WIN_LIMIT) the node may touch
    WIN_LIMIT = 9


class NodeError(enum.Flag, shape=8):
    """Why a layer ended with an error (the STATUS register's bits 15:8)."""
    ZERO_DIMENSION = 0x01
    TOO_LARGE = 0x02           # the layer does not fit the scratchpads
    MISALIGNED = 0x04
    OUTSIDE_WINDOW = 0x08
    BUS_ERROR = 0x10           # a non-OKAY response
    ARRAY_REJECTED = 0x20


class Sequencer(wiring.Component):
    def __init__(self, accel: AcceleratorParams, dma: DMAParams):
        self.accel_params, self.dma_params = accel, dma
        super().__init__({
            "start": In(1), "regs": In(32).array(len(Reg)),
            "busy": Out(1), "done": Out(1), "error": Out(NodeError), "cycles": Out(32),
            "dma": Out(stream.Signature(command_layout(dma.addr_width))), "dma_busy": In(1), "dma_error": In(1),
            "layer": Out(LayerSignature()),
        })

    def elaborate(self, platform):
        m = Module()
        R, C = self.accel_params.rows, self.accel_params.cols
        desc = [Signal(32, name=f"desc_{reg.name.lower()}") for reg in Reg]
        busy, done, issued, layer_started = Signal(), Signal(), Signal(), Signal()
        kt, mt = Signal(DIM_BITS), Signal(DIM_BITS)
        words = _Words()
        m.d.comb += [self.busy.eq(busy), self.done.eq(done)]
        with m.If(busy):
            m.d.sync += self.cycles.eq(self.cycles + 1)
        flags = desc[Reg.FLAGS]
        use_bias, relu = flags[0], flags[1]

        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.start):
                    m.d.sync += [busy.eq(1), done.eq(0), self.error.eq(0), self.cycles.eq(0), issued.eq(0)]
                    m.d.sync += [d.eq(r) for d, r in zip(desc, self.regs)]
                    m.next = "SIZE"
            with m.State("SIZE"):
                m.d.sync += [kt.eq((desc[Reg.K] + (R - 1)) // R), mt.eq((desc[Reg.M] + (C - 1)) // C)]
                m.next = "WORDS"
            with m.State("WORDS"):
                n = desc[Reg.N]
                m.d.sync += [words.x.eq(kt * n), words.b.eq(mt), words.w.eq(kt * mt * R), words.y.eq(mt * n)]
                m.next = "CHECK"
            with m.State("CHECK"):
                code = self._check(desc, words)
                with m.If(code != 0):
                    m.d.sync += self.error.eq(code)
                    m.next = "DONE"
                with m.Else():
                    m.next = "LOAD_X"
            with m.State("LOAD_X"):
                self._dma_step(m, issued, 0, 0, desc[Reg.X_ADDR], words.x, Mem.INPUTS, "LOAD_B")
            with m.State("LOAD_B"):
                with m.If(use_bias):
                    self._dma_step(m, issued, 0, 0, desc[Reg.B_ADDR], words.b, Mem.BIAS, "RUN")
                with m.Else():
                    m.next = "RUN"
            with m.State("RUN"):
                self._run(m, desc, words, issued, layer_started, use_bias, relu)
            with m.State("STORE"):
                self._dma_step(m, issued, 1, 0, desc[Reg.Y_ADDR], words.y, Mem.WEIGHTS, "DONE")
            with m.State("DONE"):
                m.d.sync += [busy.eq(0), done.eq(1)]
                m.next = "IDLE"
        return m

    def _check(self, desc, words):
        """The error code of a descriptor (0: the layer may run)."""
        ap, dp = self.accel_params, self.dma_params
        beat = dp.beat_bytes
        bytes_c = dp.beats_per_word(ap.cols) * beat          # DRAM bytes per C-lane word
        bytes_r = dp.beats_per_word(ap.rows) * beat
        use_bias = desc[Reg.FLAGS][0]

        def inside(addr, nbytes):
            return (addr >= desc[Reg.WIN_BASE]) & (addr + nbytes <= desc[Reg.WIN_LIMIT])

        dims = (desc[Reg.M], desc[Reg.K], desc[Reg.N])
        zero = (dims[0] == 0) | (dims[1] == 0) | (dims[2] == 0)
        big = ((dims[0] > MAX_DIMENSION) | (dims[1] > MAX_DIMENSION) | (dims[2] > MAX_DIMENSION)
               | (words.x > ap.input_words) | (words.y > ap.acc_words)
               | (use_bias & (words.b > ap.bias_words)))
        addrs = desc[Reg.W_ADDR] | desc[Reg.X_ADDR] | desc[Reg.Y_ADDR] | Mux(use_bias, desc[Reg.B_ADDR], 0)
        misaligned = (addrs % beat) != 0
        if dp.channels > 1:      # each read channel reads whole words (hw/dma.py)
            misaligned = misaligned | ((desc[Reg.W_ADDR] | desc[Reg.Y_ADDR] | Mux(use_bias, desc[Reg.B_ADDR], 0))
                                       % bytes_c != 0) | (desc[Reg.X_ADDR] % bytes_r != 0)
        outside = (~inside(desc[Reg.W_ADDR], words.w * bytes_c) | ~inside(desc[Reg.X_ADDR], words.x * bytes_r)
                   | ~inside(desc[Reg.Y_ADDR], words.y * bytes_c)
                   | (use_bias & ~inside(desc[Reg.B_ADDR], words.b * bytes_c)))
        return (Mux(zero, NodeError.ZERO_DIMENSION.value, 0) | Mux(big, NodeError.TOO_LARGE.value, 0)
                | Mux(misaligned, NodeError.MISALIGNED.value, 0)
                | Mux(outside & ~zero & ~big, NodeError.OUTSIDE_WINDOW.value, 0))

    def _command(self, m, write, ring, addr, words, mem, issued):
        cmd = self.dma.payload
        m.d.comb += [self.dma.valid.eq(~issued), cmd.write.eq(write), cmd.ring.eq(ring),
                     cmd.addr.eq(addr), cmd.words.eq(words), cmd.mem.eq(mem)]
        with m.If(~issued & self.dma.ready):
            m.d.sync += issued.eq(1)

    def _dma_step(self, m, issued, write, ring, addr, words, mem, next_state):
        """One DMA command, then ``next_state`` (or DONE with a bus error)."""
        self._command(m, write, ring, addr, words, mem, issued)
        with m.If(issued & ~self.dma_busy):
            m.d.sync += issued.eq(0)
            with m.If(self.dma_error):
                m.d.sync += self.error.eq(self.error | NodeError.BUS_ERROR)
                m.next = "DONE"
            with m.Else():
                m.next = next_state

    def _run(self, m, desc, words, issued, layer_started, use_bias, relu):
        """Start the array once and stream the weights alongside.  Once the last weight
        has arrived and the array still computes, the write-back starts early: the DMA
        takes each result word as soon as the last K-tile has written it (the result
        port's ``ready``).  STORE waits for whichever of the two ends last."""
        layer = self.layer
        storing = Signal()
        m.d.comb += [layer.m.eq(desc[Reg.M]), layer.k.eq(desc[Reg.K]), layer.n.eq(desc[Reg.N]),
                     layer.use_bias.eq(use_bias), layer.relu.eq(relu), layer.start.eq(~layer_started)]
        with m.If(~layer_started):
            m.d.sync += layer_started.eq(1)
        self._command(m, 0, 1, desc[Reg.W_ADDR], words.w, Mem.WEIGHTS, issued)
        with m.If(layer_started & issued & ~self.dma_busy & ~self.dma_error & layer.busy):
            self._command(m, 1, 0, desc[Reg.Y_ADDR], words.y, Mem.WEIGHTS, storing)
        with m.If(layer_started & issued & storing & ~layer.busy & layer.done):
            m.d.sync += [layer_started.eq(0), storing.eq(0)]   # issued stays: STORE waits for the DMA
            m.next = "STORE"
        with m.Elif(layer_started & issued & ~self.dma_busy & ~layer.busy & layer.done):
            m.d.sync += [issued.eq(0), layer_started.eq(0)]
            with m.If(self.dma_error | layer.error):
                m.d.sync += self.error.eq(self.error.as_value() | Mux(self.dma_error, NodeError.BUS_ERROR.value, 0)
                                          | Mux(layer.error, NodeError.ARRAY_REJECTED.value, 0))
                m.next = "DONE"
            with m.Else():
                m.next = "STORE"


class _Words:
    """Scratchpad words of the layer's operands: inputs, bias, weights, outputs."""

    def __init__(self):
        self.x = Signal(TILE_BITS, name="x_words")       # K-tiles x N
        self.b = Signal(DIM_BITS, name="b_words")        # M-tiles
        self.w = Signal(VECTOR_BITS, name="w_words")     # K-tiles x M-tiles x R
        self.y = Signal(TILE_BITS, name="y_words")       # M-tiles x N
