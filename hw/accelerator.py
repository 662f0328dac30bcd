"""One accelerator: systolic array + scratchpads + controller + counters.

Runs ``y = act(W x + b)`` for W of M x K on N vectors held in its scratchpads.

Scratchpad layouts (word addresses; a word holds C or R floats, lane 0 in
the low bits):

* weights  (C floats/word): tile j = kt*MT + mt occupies words j*R .. j*R+R-1;
  word j*R + r holds W[mt*C + c, kt*R + r] in lane c.
* inputs   (R floats/word): word kt*N + n holds x_n[kt*R + r] in lane r.
* bias     (C floats/word): word mt holds b[mt*C + c] in lane c.
* acc      (C floats/word): word mt*N + n holds y_n[mt*C + c] in lane c.

Tiles run K-tile outer, M-tile inner (j = kt*MT + mt), each streaming its N
vectors back to back.  Output column m of vector n is accumulated strictly
in k order: it starts from b[m] (or +0.0 without bias), adds
W[m, k] * x_n[k] for k = 0, 1, ..., K-1 -- one FP32 multiply and one FP32
add per step, exactly numpy's ``acc = acc + w * x`` in float32 -- and ReLU
(negative or -0 -> +0, NaN kept) is applied at the last K-tile's write-back.
Partial tiles are padded by the hardware: missing rows push the weight -0.0
and feed the activation +0.0, whose product -0.0 leaves every sum unchanged;
missing columns compute values nobody reads.

Weight tiles load through the PEs' shadow registers while the previous tile
computes, one row at a time behind the previous tile's ``first`` wave: a
stream engine reads row r of tile j+1 from the scratchpad r*La cycles after
row 0 and writes it into array row r (``w_we``), just after tile j's first
vector has passed that row's last PE.  The stream may start ``load_after``
(C - 2) cycles after tile j's first issue and tile j+1 may issue 2 cycles
after its stream started, so a tile takes max(N, ~C) cycles
(``ArrayParams.min_tile_period``), not R + C + R*La as with a shift chain.
A stream spans (R-1)*La + 1 cycles, longer than a tile, so two engines run
overlapped on the one read port; the start rule (no stream starts at a
multiple of La after the running one, at most two at once) keeps their
reads in different cycles.  sim/golden/perf.py models the same rules.

Cycle counters (all from ``start`` to ``done``) partition the run:
``total = setup + compute + weight_wait + stall + drain``; ``weight_load``
counts the cycles a shadow row was written (hidden or not).
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .array import SystolicArray, lanes
from .config import AcceleratorParams
from .scratchpad import ADDR_BITS, Mem, RingSignature, ScratchpadReadSignature, ScratchpadWriteSignature

# kept for callers that name the scratchpads by number
MEM_WEIGHTS, MEM_INPUTS, MEM_BIAS = Mem.WEIGHTS.value, Mem.INPUTS.value, Mem.BIAS.value
NEG_ZERO = 0x80000000
SETUP_CYCLES = 3
COUNTERS = ("total", "setup", "compute", "weight_wait", "stall", "drain", "weight_load")
DIM_BITS = 17           # a dimension (<= 65535) and the tile counts derived from it
TILE_BITS = 2 * DIM_BITS
VECTOR_BITS = 3 * DIM_BITS
K_LEFT_BITS = DIM_BITS + 1


class LayerSignature(wiring.Signature):
    """An accelerator's layer descriptor, from the side that starts the layer."""

    def __init__(self):
        super().__init__({"start": Out(1), "m": Out(16), "k": Out(16), "n": Out(16), "use_bias": Out(1),
                          "relu": Out(1), "busy": In(1), "done": In(1), "error": In(1)})

    def __eq__(self, other):
        return type(self) is type(other)

    def __hash__(self):
        return hash(type(self))


class CountersSignature(wiring.Signature):
    """Named 32-bit cycle counters, in the order given."""

    def __init__(self, names):
        self.names = tuple(names)
        super().__init__({name: Out(32) for name in self.names})

    def __eq__(self, other):
        return type(self) is type(other) and self.names == other.names

    def __hash__(self):
        return hash((type(self), self.names))


def _relu(word):
    """Lane-wise ReLU: any value with the sign bit set (and not NaN) becomes +0."""
    sign, exp, frac = word[31], word[23:31], word[0:23]
    is_nan = (exp == 0xFF) & (frac != 0)
    return Mux(sign & ~is_nan, 0, word)


class Accelerator(wiring.Component):
    """Array + scratchpads + controller for one fully connected layer.

    The controller's parts are :class:`_Control` (descriptor, setup and
    validation), :class:`_LoadEngine` (weight tiles into the shadow
    registers), :class:`_IssueEngine` (vectors into the array), the
    write-back and the cycle accounting.  They share one Verilog module, so
    the scratchpads' ports and the controller's registers are where the
    power model expects them.
    """

    def __init__(self, params: AcceleratorParams = AcceleratorParams(), *, row_factory=None):
        self.params = params
        self._row_factory = row_factory
        R, C = params.rows, params.cols
        super().__init__({
            "layer": In(LayerSignature()),
            # what the DMA drives: one scratchpad word per cycle, the result port, the weight ring
            "wr": In(ScratchpadWriteSignature(32 * max(R, C))),
            "rd": In(ScratchpadReadSignature(32 * C)),
            "ring": In(RingSignature()),
            "cycles": Out(CountersSignature(COUNTERS)),
        })

    def port_name(self, path: tuple) -> str:
        """The descriptor's ports keep their short names (``m``, ``start``, ``busy``)."""
        return "_".join(str(part) for part in (path[1:] if path[0] == "layer" else path))

    def elaborate(self, platform):
        m = Module()
        p = self.params
        m.submodules.array = array = SystolicArray(p.array, tag_width=ADDR_BITS + 1, row_factory=self._row_factory)
        mems = _Scratchpads(m, p, self.wr, self.rd)
        counters = [value for _, _, value in self.cycles.signature.flatten(self.cycles)]
        ctl = _Control(p)
        load = _LoadEngine(p)
        issue = _IssueEngine(p)
        # the ring's consumed count restarts with the layer: the DMA's ring command starts with it
        ctl.elaborate(m, self.layer, cleared=[*counters, load.consumed],
                      restart=load.restart(ctl) + issue.restart(ctl))
        with m.If(ctl.busy):
            m.d.sync += self.cycles.total.eq(self.cycles.total + 1)
            with m.If(~ctl.running):
                m.d.sync += self.cycles.setup.eq(self.cycles.setup + 1)
        load.elaborate(m, ctl, self.ring, mems.weights, array, self.cycles.weight_load)
        issue.elaborate(m, ctl, load, mems, array)
        _write_back(m, array, mems.acc, issue.written)
        self._results_ready(m, ctl, issue)
        self._account(m, ctl, issue)
        return m

    def _results_ready(self, m, ctl, issue):
        """Result words that are final: the last K-tile writes words 0, 1, ... in order,
        so they are the written vectors beyond the earlier K-tiles' (all once idle)."""
        earlier = Signal(VECTOR_BITS)
        m.d.comb += earlier.eq(ctl.total_vectors - ctl.mt_times_n)
        with m.If(~ctl.busy):
            m.d.comb += self.rd.ready.eq((1 << ADDR_BITS) - 1)
        with m.Elif(ctl.running & (issue.written > earlier)):
            m.d.comb += self.rd.ready.eq(issue.written - earlier)

    def _account(self, m, ctl, issue):
        """Every running cycle is drain, compute, stall or weight wait; then completion."""
        cycles = self.cycles
        with m.If(ctl.running):
            with m.If(issue.all):
                m.d.sync += cycles.drain.eq(cycles.drain + 1)
            with m.Elif(issue.do_issue):
                m.d.sync += cycles.compute.eq(cycles.compute + 1)
            with m.Elif(issue.can_issue):
                m.d.sync += cycles.stall.eq(cycles.stall + 1)
            with m.Else():
                m.d.sync += cycles.weight_wait.eq(cycles.weight_wait + 1)
            with m.If(issue.all & (issue.written == ctl.total_vectors)):
                m.d.sync += [ctl.running.eq(0), ctl.busy.eq(0), ctl.done.eq(1)]


class _Scratchpads:
    """The four scratchpads, the DMA's write port into three of them and the result port."""

    def __init__(self, m, p: AcceleratorParams, wr, rd):
        R, C = p.rows, p.cols
        m.submodules.wmem = self.weights = Memory(shape=32 * C, depth=p.weight_words, init=[])
        m.submodules.xmem = self.inputs = Memory(shape=32 * R, depth=p.input_words, init=[])
        m.submodules.bmem = self.bias = Memory(shape=32 * C, depth=p.bias_words, init=[])
        m.submodules.amem = self.acc = Memory(shape=32 * C, depth=p.acc_words, init=[])
        for mem, sel, width in ((self.weights, Mem.WEIGHTS, 32 * C), (self.inputs, Mem.INPUTS, 32 * R),
                                (self.bias, Mem.BIAS, 32 * C)):
            port = mem.write_port()
            m.d.comb += [port.addr.eq(wr.addr), port.data.eq(wr.data[:width]), port.en.eq(wr.en & (wr.mem == sel))]
        host_read = self.acc.read_port()
        m.d.comb += [host_read.en.eq(rd.en), host_read.addr.eq(rd.addr), rd.data.eq(host_read.data)]


class _Control:
    """Descriptor latched at start, SETUP_CYCLES of tile arithmetic, validation."""

    def __init__(self, p: AcceleratorParams):
        self.p = p
        self.dim_m, self.dim_k, self.dim_n = Signal(DIM_BITS), Signal(DIM_BITS), Signal(DIM_BITS)
        self.use_bias, self.relu = Signal(), Signal()
        self.k_tiles, self.m_tiles = Signal(DIM_BITS), Signal(DIM_BITS)
        self.tile_count = Signal(TILE_BITS)            # KT * MT
        self.mt_times_n = Signal(TILE_BITS)            # vectors per K-tile (dependency distance)
        self.total_vectors = Signal(VECTOR_BITS)
        self.busy, self.done, self.error, self.running = Signal(), Signal(), Signal(), Signal()
        self.setup_step = Signal(range(SETUP_CYCLES + 1))

    def elaborate(self, m, layer, cleared, restart):
        R, C = self.p.rows, self.p.cols
        m.d.comb += [layer.busy.eq(self.busy), layer.done.eq(self.done), layer.error.eq(self.error)]
        with m.If(layer.start & ~self.busy):
            m.d.sync += [
                self.dim_m.eq(layer.m), self.dim_k.eq(layer.k), self.dim_n.eq(layer.n),
                self.use_bias.eq(layer.use_bias), self.relu.eq(layer.relu),
                self.busy.eq(1), self.done.eq(0), self.error.eq(0), self.running.eq(0), self.setup_step.eq(1),
                *[c.eq(0) for c in cleared],
            ]
        with m.If(self.busy & (self.setup_step == 1)):
            m.d.sync += [self.k_tiles.eq((self.dim_k + (R - 1)) // R), self.m_tiles.eq((self.dim_m + (C - 1)) // C),
                         self.setup_step.eq(2)]
        with m.If(self.busy & (self.setup_step == 2)):
            m.d.sync += [self.tile_count.eq(self.k_tiles * self.m_tiles),
                         self.mt_times_n.eq(self.m_tiles * self.dim_n), self.setup_step.eq(3)]
        with m.If(self.busy & (self.setup_step == 3)):
            m.d.sync += self.setup_step.eq(0)
            with m.If(self._bad()):
                m.d.sync += [self.busy.eq(0), self.done.eq(1), self.error.eq(1)]
            with m.Else():
                m.d.sync += [self.running.eq(1), self.total_vectors.eq(self.tile_count * self.dim_n), *restart]

    def _bad(self):
        """A zero dimension, or a layer the scratchpads cannot hold."""
        p, R = self.p, self.p.rows
        return ((self.dim_m == 0) | (self.dim_k == 0) | (self.dim_n == 0)
                | ((self.tile_count * R > p.weight_words) if not p.weight_ring_tiles else 0)
                | (self.k_tiles * self.dim_n > p.input_words)
                | (self.mt_times_n > p.acc_words)
                | (self.use_bias & (self.m_tiles > p.bias_words)))


class _LoadEngine:
    """Weight tiles into the shadow registers, one stream per tile (see :class:`_StreamEngine`).

    Tile j+1's stream may start ``load_after`` cycles after tile j's first
    issue; in ring mode, once the tile's words have arrived.
    """

    def __init__(self, p: AcceleratorParams):
        self.p = p
        self.swap_limit = p.array.load_after - 1
        self.swap_timer = Signal(range(self.swap_limit + 2), init=self.swap_limit + 1)
        self.loaded = Signal()                # a stream started for the tile not yet issued
        self.all = Signal()
        self.mt, self.k_left, self.base = Signal(DIM_BITS), Signal(K_LEFT_BITS), Signal(ADDR_BITS + 12)
        self.tiles = Signal(TILE_BITS)
        self.claimed = Signal(32)             # weight words of the tiles whose streams started
        self.consumed = Signal(32)            # weight words whose stream has read them all
        self.engines = [_StreamEngine(p.rows, p.array.add_latency, i) for i in range(2)]
        self.started = Signal()               # a stream started last cycle

    def restart(self, ctl):
        return [self.loaded.eq(0), self.swap_timer.eq(self.swap_limit + 1), self.all.eq(0), self.mt.eq(0),
                self.k_left.eq(ctl.dim_k), self.consumed.eq(0), self.claimed.eq(0), self.base.eq(0),
                self.tiles.eq(0), *[e.active.eq(0) for e in self.engines]]

    def elaborate(self, m, ctl, ring, wmem, array, weight_load):
        p, R = self.p, self.p.rows
        e0, e1 = self.engines
        m.d.comb += ring.consumed.eq(self.consumed)
        with m.If(ctl.running & (self.swap_timer <= self.swap_limit)):
            m.d.sync += self.swap_timer.eq(self.swap_timer + 1)
        start = (ctl.running & ~self.all & ~self.loaded & (self.swap_timer > self.swap_limit)
                 & (~e0.active | ~e1.active) & ~e0.conflict & ~e1.conflict)
        if p.weight_ring_tiles:
            start = start & (ring.arrived >= self.claimed + R)
        with m.If(start):
            with m.If(~e0.active):
                e0.start(m, self.base, self.k_left)
            with m.Else():
                e1.start(m, self.base, self.k_left)
            m.d.sync += [self.loaded.eq(1), self.tiles.eq(self.tiles + 1), self.claimed.eq(self.claimed + R)]
            if p.weight_ring_tiles:
                m.d.sync += self.base.eq(Mux(self.base + R >= p.weight_words, 0, self.base + R))
            else:
                m.d.sync += self.base.eq(self.base + R)
            with m.If(self.mt == ctl.m_tiles - 1):
                m.d.sync += [self.mt.eq(0), self.k_left.eq(self.k_left - R)]
            with m.Else():
                m.d.sync += self.mt.eq(self.mt + 1)
            with m.If(self.tiles + 1 == ctl.tile_count):
                m.d.sync += self.all.eq(1)
        for e in self.engines:
            with m.If(e.step(m)):
                m.d.sync += self.consumed.eq(self.consumed + R)
        m.d.sync += self.started.eq(start)
        self._weight_writes(m, array, wmem, weight_load)

    def _weight_writes(self, m, array, wmem, weight_load):
        """The scratchpad read port shared by the streams, and the row write one cycle later.

        The start rule guarantees that at most one engine reads per cycle.
        Rows at or beyond the layer's K push -0.0 (padding).
        """
        R, C = self.p.rows, self.p.cols
        first, second = self.engines
        w_read = wmem.read_port()
        reading = first.reading | second.reading
        # read enable only when a word is used (SRAM energy)
        m.d.comb += [w_read.en.eq(reading), w_read.addr.eq(Mux(first.reading, first.addr, second.addr))]
        we, we_row, we_pad = Signal(), Signal(range(max(R, 2))), Signal()
        m.d.sync += [we.eq(reading), we_row.eq(Mux(first.reading, first.row, second.row)),
                     we_pad.eq(Mux(first.reading, first.pad, second.pad))]
        with m.If(we):
            m.d.sync += weight_load.eq(weight_load + 1)
        m.d.comb += [
            array.w_we.eq(Cat(*[we & (we_row == r) for r in range(R)])),
            array.w_row.eq(Mux(we_pad, Const(int("80000000" * C, 16), 32 * C), w_read.data)),
        ]


class _IssueEngine:
    """Vectors into the array: tile by tile, each tile's N vectors back to back.

    A tile issues once its shadow is full (the stream started 2 cycles ago:
    it writes row r 2 + r*La cycles after its start, and the tile's first
    vector reaches row r 1 + r*La cycles after its issue).  A K-tile after
    the first waits until the partial sums it adds to have been written.
    """

    def __init__(self, p: AcceleratorParams):
        self.p = p
        self.active, self.all = Signal(), Signal()
        self.n, self.mt = Signal(DIM_BITS), Signal(DIM_BITS)
        self.kt_first = Signal()             # current K-tile is the first (psum from bias / +0)
        self.kt_last = Signal()
        self.k_left = Signal(K_LEFT_BITS)
        self.xbase, self.abase = Signal(ADDR_BITS + 18), Signal(ADDR_BITS + 18)
        self.tiles = Signal(TILE_BITS)
        self.issued, self.written = Signal(VECTOR_BITS), Signal(VECTOR_BITS)
        self.shadow_full = Signal()
        self.can_issue, self.do_issue = Signal(), Signal()

    def restart(self, ctl):
        return [self.shadow_full.eq(0), self.active.eq(0), self.all.eq(0), self.n.eq(0), self.mt.eq(0),
                self.kt_first.eq(1), self.kt_last.eq(ctl.dim_k <= self.p.rows), self.k_left.eq(ctl.dim_k),
                self.xbase.eq(0), self.abase.eq(0), self.tiles.eq(0), self.issued.eq(0), self.written.eq(0)]

    def elaborate(self, m, ctl, load, mems, array):
        R = self.p.rows
        dep_ok = self.kt_first | (self.issued - self.written < ctl.mt_times_n)
        m.d.comb += [self.can_issue.eq(ctl.running & ~self.all & (self.active | self.shadow_full)),
                     self.do_issue.eq(self.can_issue & dep_ok)]
        starting = self.do_issue & ~self.active
        x_read, a_read, b_read = mems.inputs.read_port(), mems.acc.read_port(), mems.bias.read_port()
        m.d.comb += [x_read.addr.eq(self.xbase + self.n), a_read.addr.eq(self.abase + self.n),
                     b_read.addr.eq(self.mt),
                     x_read.en.eq(self.do_issue), a_read.en.eq(self.do_issue & ~self.kt_first),
                     b_read.en.eq(self.do_issue & self.kt_first & ctl.use_bias)]
        with m.If(load.started):
            m.d.sync += self.shadow_full.eq(1)
        with m.If(starting):
            m.d.sync += [self.shadow_full.eq(0), load.loaded.eq(0), load.swap_timer.eq(1), self.active.eq(1)]
        with m.If(self.do_issue):
            m.d.sync += [self.issued.eq(self.issued + 1), self.n.eq(self.n + 1)]
            with m.If(self.n == ctl.dim_n - 1):
                m.d.sync += [self.active.eq(0), self.n.eq(0), self.tiles.eq(self.tiles + 1)]
                with m.If(self.tiles + 1 == ctl.tile_count):
                    m.d.sync += self.all.eq(1)
                with m.If(self.mt == ctl.m_tiles - 1):
                    m.d.sync += [self.mt.eq(0), self.abase.eq(0), self.xbase.eq(self.xbase + ctl.dim_n),
                                 self.kt_first.eq(0), self.k_left.eq(self.k_left - R),
                                 self.kt_last.eq(self.k_left - R <= R)]
                with m.Else():
                    m.d.sync += [self.mt.eq(self.mt + 1), self.abase.eq(self.abase + ctl.dim_n)]
        self._operands(m, ctl, starting, x_read, a_read, b_read, array)

    def _operands(self, m, ctl, starting, x_read, a_read, b_read, array):
        """Operands reach the array one cycle after their addresses (sync reads);
        rows at or beyond the layer's K feed +0.0."""
        R = self.p.rows
        v_valid, v_first, v_kt_first, v_last = Signal(), Signal(), Signal(), Signal()
        v_addr, v_rows = Signal(ADDR_BITS), Signal(R)
        m.d.sync += [
            v_valid.eq(self.do_issue), v_first.eq(starting), v_kt_first.eq(self.kt_first),
            v_last.eq(self.kt_last & ctl.relu), v_addr.eq(self.abase + self.n),
            v_rows.eq(Cat(*[self.k_left > r for r in range(R)])),
        ]
        x_lanes = lanes(x_read.data)
        x_masked = Cat(*[Mux(v_rows[r], x_lanes[r], 0) for r in range(R)])
        psum = Mux(v_kt_first, Mux(ctl.use_bias, b_read.data, 0), a_read.data)
        m.d.comb += [
            array.in_valid.eq(v_valid), array.in_first.eq(v_first),
            array.x.eq(x_masked), array.psum.eq(psum),
            array.tag_in.eq(Cat(v_addr, v_last)),
        ]


def _write_back(m, array, amem, written):
    """Outputs into the accumulator scratchpad at their tag's address, ReLU at
    the last K-tile; ``written`` counts them (the issue engine's dependency check)."""
    out_addr, out_relu = array.tag_out[:ADDR_BITS], array.tag_out[ADDR_BITS]
    a_write = amem.write_port()
    m.d.comb += [
        a_write.addr.eq(out_addr), a_write.en.eq(array.out_valid),
        a_write.data.eq(Mux(out_relu, Cat(*[_relu(lane) for lane in lanes(array.y)]), array.y)),
    ]
    with m.If(array.out_valid):
        m.d.sync += written.eq(written + 1)


class _StreamEngine:
    """Reads one weight tile, row r at ``r * La`` cycles after its first read.

    The array's ``first`` wave reaches row r r*La cycles after row 0, so a
    stream with the same stride writes each row the same number of cycles
    after the wave left it.  A stream spans (R-1)*La + 1 cycles, longer than
    a tile, so the controller runs two; ``conflict`` says that a stream
    started now would read in the same cycle as this one (the new stream
    reads from the next cycle on, every La cycles).
    """

    def __init__(self, rows, la, index):
        self.rows, self.la = rows, la
        self.active = Signal(name=f"ws{index}_active")
        # at least one bit each: Verilog has no zero-width vectors (R = 1, La = 1)
        self.row = Signal(range(max(rows, 2)), name=f"ws{index}_row")
        self.phase = Signal(range(max(la, 2)), name=f"ws{index}_phase")
        self.base = Signal(ADDR_BITS + 12, name=f"ws{index}_base")
        self.k_left = Signal(K_LEFT_BITS, name=f"ws{index}_k_left")
        self.reading = self.active & (self.phase == 0)
        self.addr = self.base + self.row
        self.pad = self.row >= self.k_left
        if la == 1:
            # reads every cycle: any stream that has not read its last row conflicts
            self.conflict = self.active & (self.row != rows - 1)
        else:
            # reads next cycle iff it is one cycle short of a read now
            self.conflict = self.active & (self.phase == la - 1)

    def start(self, m, base, k_left):
        m.d.sync += [self.active.eq(1), self.row.eq(0), self.phase.eq(0),
                     self.base.eq(base), self.k_left.eq(k_left)]

    def step(self, m):
        """Advance one cycle; returns the signal 'the last row is read now'."""
        last = self.reading & (self.row == self.rows - 1)
        with m.If(self.active):
            m.d.sync += self.phase.eq(Mux(self.phase == self.la - 1, 0, self.phase + 1))
            with m.If(self.reading):
                m.d.sync += self.row.eq(self.row + 1)
            with m.If(last):
                m.d.sync += self.active.eq(0)
        return last
