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

from .array import SystolicArray
from .config import AcceleratorParams, MAX_DIM

MEM_WEIGHTS, MEM_INPUTS, MEM_BIAS = 0, 1, 2
NEG_ZERO = 0x80000000
SETUP_CYCLES = 3
COUNTERS = ("total", "setup", "compute", "weight_wait", "stall", "drain", "weight_load")
ADDR_BITS = 24


def _relu(word):
    """Lane-wise ReLU: any value with the sign bit set (and not NaN) becomes +0."""
    sign, exp, frac = word[31], word[23:31], word[0:23]
    is_nan = (exp == 0xFF) & (frac != 0)
    return Mux(sign & ~is_nan, 0, word)


class Accelerator(wiring.Component):
    """Array + scratchpads + controller for one fully connected layer."""

    def __init__(self, params: AcceleratorParams = AcceleratorParams(), *, pe_factory=None):
        self.params = params
        self._pe_factory = pe_factory
        R, C = params.rows, params.cols
        ports = {
            # layer descriptor
            "start": In(1), "m": In(16), "k": In(16), "n": In(16),
            "use_bias": In(1), "relu": In(1),
            "busy": Out(1), "done": Out(1), "error": Out(1),
            # local scratchpad port (what the DMA drives): one word per cycle
            "wr_en": In(1), "wr_mem": In(2), "wr_addr": In(ADDR_BITS), "wr_data": In(32 * max(R, C)),
            # result port: acc word at rd_addr, one cycle after rd_en
            "rd_en": In(1), "rd_addr": In(ADDR_BITS), "rd_data": Out(32 * C),
            # weight ring flow control (streaming mode): words written / consumed
            "w_arrived": In(32), "w_consumed": Out(32),
        }
        ports.update({f"cycles_{name}": Out(32) for name in COUNTERS})
        super().__init__(ports)

    def elaborate(self, platform):
        m = Module()
        p = self.params
        ap = p.array
        R, C = ap.rows, ap.cols

        m.submodules.array = array = SystolicArray(ap, tag_width=ADDR_BITS + 1, pe_factory=self._pe_factory)
        m.submodules.wmem = wmem = Memory(shape=32 * C, depth=p.weight_words, init=[])
        m.submodules.xmem = xmem = Memory(shape=32 * R, depth=p.input_words, init=[])
        m.submodules.bmem = bmem = Memory(shape=32 * C, depth=p.bias_words, init=[])
        m.submodules.amem = amem = Memory(shape=32 * C, depth=p.acc_words, init=[])

        # ---- host / DMA writes
        for mem, sel, width in ((wmem, MEM_WEIGHTS, 32 * C), (xmem, MEM_INPUTS, 32 * R), (bmem, MEM_BIAS, 32 * C)):
            port = mem.write_port()
            m.d.comb += [port.addr.eq(self.wr_addr), port.data.eq(self.wr_data[:width]),
                         port.en.eq(self.wr_en & (self.wr_mem == sel))]
        host_read = amem.read_port()
        m.d.comb += [host_read.en.eq(self.rd_en), host_read.addr.eq(self.rd_addr), self.rd_data.eq(host_read.data)]

        # ---- descriptor, latched at start
        dim_m, dim_k, dim_n = Signal(17), Signal(17), Signal(17)
        use_bias, relu = Signal(), Signal()
        k_tiles, m_tiles = Signal(17), Signal(17)
        tile_count = Signal(34)            # KT * MT
        mt_times_n = Signal(34)            # vectors per K-tile (dependency distance)
        total_vectors = Signal(51)
        busy, done, error = Signal(), Signal(), Signal()
        running = Signal()
        setup_step = Signal(range(SETUP_CYCLES + 1))
        m.d.comb += [self.busy.eq(busy), self.done.eq(done), self.error.eq(error)]

        # ---- load engine (weight tiles into the shadow registers, see _StreamEngine)
        # Tile j+1's stream may start load_after cycles after tile j's first issue.
        swap_limit = ap.load_after - 1
        swap_timer = Signal(range(swap_limit + 2), init=swap_limit + 1)
        loaded = Signal()                # a stream started for the tile not yet issued
        shadow_full = Signal()           # ... 2 cycles ago: each row is written before the tile's wave reaches it
        le_all = Signal()
        le_mt, le_k_left, le_base = Signal(17), Signal(18), Signal(ADDR_BITS + 12)
        le_tiles = Signal(34)
        claimed = Signal(32)             # weight words of the tiles whose streams started
        consumed = Signal(32)            # weight words whose stream has read them all
        engines = [_StreamEngine(R, ap.add_latency, i) for i in range(2)]

        # ---- issue engine (vectors into the array)
        ie_active, ie_all = Signal(), Signal()
        ie_n, ie_mt = Signal(17), Signal(17)
        ie_kt_first = Signal()             # current K-tile is the first (psum from bias / +0)
        ie_kt_last = Signal()
        ie_k_left = Signal(18)
        ie_xbase, ie_abase = Signal(ADDR_BITS + 18), Signal(ADDR_BITS + 18)
        ie_tiles = Signal(34)
        issued, written = Signal(51), Signal(51)
        counters = {name: Signal(32, name=f"cnt_{name}") for name in COUNTERS}
        for name in COUNTERS:
            m.d.comb += getattr(self, f"cycles_{name}").eq(counters[name])

        # ---- start / setup / validation
        with m.If(self.start & ~busy):
            m.d.sync += [
                dim_m.eq(self.m), dim_k.eq(self.k), dim_n.eq(self.n),
                use_bias.eq(self.use_bias), relu.eq(self.relu),
                busy.eq(1), done.eq(0), error.eq(0), running.eq(0), setup_step.eq(1), consumed.eq(0),
                *[c.eq(0) for c in counters.values()],
            ]
        with m.If(busy & (setup_step == 1)):
            m.d.sync += [k_tiles.eq((dim_k + (R - 1)) // R), m_tiles.eq((dim_m + (C - 1)) // C),
                         setup_step.eq(2)]
        with m.If(busy & (setup_step == 2)):
            m.d.sync += [tile_count.eq(k_tiles * m_tiles), mt_times_n.eq(m_tiles * dim_n),
                         setup_step.eq(3)]
        with m.If(busy & (setup_step == 3)):
            bad = ((dim_m == 0) | (dim_k == 0) | (dim_n == 0)
                   | ((tile_count * R > p.weight_words) if not p.weight_ring_tiles else 0)
                   | (k_tiles * dim_n > p.input_words)
                   | (mt_times_n > p.acc_words)
                   | (use_bias & (m_tiles > p.bias_words)))
            m.d.sync += setup_step.eq(0)
            with m.If(bad):
                m.d.sync += [busy.eq(0), done.eq(1), error.eq(1)]
            with m.Else():
                m.d.sync += [
                    running.eq(1), total_vectors.eq(tile_count * dim_n),
                    shadow_full.eq(0), loaded.eq(0), swap_timer.eq(swap_limit + 1),
                    le_all.eq(0), le_mt.eq(0), le_k_left.eq(dim_k), consumed.eq(0), claimed.eq(0),
                    le_base.eq(0), le_tiles.eq(0), *[e.active.eq(0) for e in engines],
                    ie_active.eq(0), ie_all.eq(0), ie_n.eq(0), ie_mt.eq(0), ie_kt_first.eq(1),
                    ie_kt_last.eq(dim_k <= R), ie_k_left.eq(dim_k), ie_xbase.eq(0), ie_abase.eq(0),
                    ie_tiles.eq(0), issued.eq(0), written.eq(0),
                ]
        with m.If(busy):
            m.d.sync += counters["total"].eq(counters["total"] + 1)
            with m.If(~running):
                m.d.sync += counters["setup"].eq(counters["setup"] + 1)

        # ---- load engine
        m.d.comb += self.w_consumed.eq(consumed)
        with m.If(running & (swap_timer <= swap_limit)):
            m.d.sync += swap_timer.eq(swap_timer + 1)
        free = ~engines[0].active | ~engines[1].active
        le_start = (running & ~le_all & ~loaded & (swap_timer > swap_limit) & free
                    & ~engines[0].conflict & ~engines[1].conflict)
        if p.weight_ring_tiles:
            # the tile's words must have arrived in the ring
            le_start = le_start & (self.w_arrived >= claimed + R)
        with m.If(le_start):
            with m.If(~engines[0].active):
                engines[0].start(m, le_base, le_k_left)
            with m.Else():
                engines[1].start(m, le_base, le_k_left)
            m.d.sync += [loaded.eq(1), le_tiles.eq(le_tiles + 1), claimed.eq(claimed + R)]
            if p.weight_ring_tiles:
                m.d.sync += le_base.eq(Mux(le_base + R >= p.weight_words, 0, le_base + R))
            else:
                m.d.sync += le_base.eq(le_base + R)
            with m.If(le_mt == m_tiles - 1):
                m.d.sync += [le_mt.eq(0), le_k_left.eq(le_k_left - R)]
            with m.Else():
                m.d.sync += le_mt.eq(le_mt + 1)
            with m.If(le_tiles + 1 == tile_count):
                m.d.sync += le_all.eq(1)
        for e in engines:
            with m.If(e.step(m)):
                m.d.sync += consumed.eq(consumed + R)
        # the stream writes row r at 2 + r*La cycles after its start, the tile's
        # first vector reaches row r at 1 + r*La cycles after its issue: it may
        # issue 2 cycles after the stream started
        le_start_d = Signal()
        m.d.sync += le_start_d.eq(le_start)
        self._weight_writes(m, array, wmem, engines, counters["weight_load"])

        # ---- issue engine
        inflight = issued - written
        dep_ok = ie_kt_first | (inflight < mt_times_n)
        can_issue = running & ~ie_all & (ie_active | shadow_full)
        do_issue = can_issue & dep_ok
        starting = do_issue & ~ie_active

        x_read = xmem.read_port()
        a_read = amem.read_port()
        b_read = bmem.read_port()
        m.d.comb += [x_read.addr.eq(ie_xbase + ie_n), a_read.addr.eq(ie_abase + ie_n),
                     b_read.addr.eq(ie_mt),
                     x_read.en.eq(do_issue), a_read.en.eq(do_issue & ~ie_kt_first),
                     b_read.en.eq(do_issue & ie_kt_first & use_bias)]

        with m.If(le_start_d):
            m.d.sync += shadow_full.eq(1)
        with m.If(starting):
            m.d.sync += [shadow_full.eq(0), loaded.eq(0), swap_timer.eq(1), ie_active.eq(1)]
        with m.If(do_issue):
            m.d.sync += [issued.eq(issued + 1), ie_n.eq(ie_n + 1)]
            with m.If(ie_n == dim_n - 1):
                m.d.sync += [ie_active.eq(0), ie_n.eq(0), ie_tiles.eq(ie_tiles + 1)]
                with m.If(ie_tiles + 1 == tile_count):
                    m.d.sync += ie_all.eq(1)
                with m.If(ie_mt == m_tiles - 1):
                    m.d.sync += [ie_mt.eq(0), ie_abase.eq(0), ie_xbase.eq(ie_xbase + dim_n),
                                 ie_kt_first.eq(0), ie_k_left.eq(ie_k_left - R),
                                 ie_kt_last.eq(ie_k_left - R <= R)]
                with m.Else():
                    m.d.sync += [ie_mt.eq(ie_mt + 1), ie_abase.eq(ie_abase + dim_n)]

        # operands reach the array one cycle after their addresses (sync reads)
        v_valid, v_first, v_kt_first, v_last, v_addr = Signal(), Signal(), Signal(), Signal(), Signal(ADDR_BITS)
        v_rows = Signal(R)
        m.d.sync += [
            v_valid.eq(do_issue), v_first.eq(starting), v_kt_first.eq(ie_kt_first),
            v_last.eq(ie_kt_last & relu), v_addr.eq(ie_abase + ie_n),
            v_rows.eq(Cat(*[ie_k_left > r for r in range(R)])),
        ]
        x_masked = Cat(*[Mux(v_rows[r], x_read.data[32 * r:32 * (r + 1)], 0) for r in range(R)])
        psum = Mux(v_kt_first, Mux(use_bias, b_read.data, 0), a_read.data)
        m.d.comb += [
            array.in_valid.eq(v_valid), array.in_first.eq(v_first),
            array.x.eq(x_masked), array.psum.eq(psum),
            array.tag_in.eq(Cat(v_addr, v_last)),
        ]

        # ---- write-back
        out_addr, out_relu = array.tag_out[:ADDR_BITS], array.tag_out[ADDR_BITS]
        a_write = amem.write_port()
        lanes = [array.y[32 * c:32 * (c + 1)] for c in range(C)]
        m.d.comb += [
            a_write.addr.eq(out_addr), a_write.en.eq(array.out_valid),
            a_write.data.eq(Mux(out_relu, Cat(*[_relu(l) for l in lanes]), array.y)),
        ]
        with m.If(array.out_valid):
            m.d.sync += written.eq(written + 1)

        # ---- cycle accounting and completion
        with m.If(running):
            with m.If(ie_all):
                m.d.sync += counters["drain"].eq(counters["drain"] + 1)
            with m.Elif(do_issue):
                m.d.sync += counters["compute"].eq(counters["compute"] + 1)
            with m.Elif(can_issue):
                m.d.sync += counters["stall"].eq(counters["stall"] + 1)
            with m.Else():
                m.d.sync += counters["weight_wait"].eq(counters["weight_wait"] + 1)
            with m.If(ie_all & (written == total_vectors)):
                m.d.sync += [running.eq(0), busy.eq(0), done.eq(1)]
        return m

    def _weight_writes(self, m, array, wmem, engines, weight_load):
        """The scratchpad read port shared by the streams, and the row write one cycle later.

        The start rule guarantees that at most one engine reads per cycle.
        Rows at or beyond the layer's K push -0.0 (padding).
        """
        R, C = self.params.rows, self.params.cols
        w_read = wmem.read_port()
        first = engines[0]
        reading = engines[0].reading | engines[1].reading
        # read enable only when a word is used (SRAM energy)
        m.d.comb += [w_read.en.eq(reading),
                     w_read.addr.eq(Mux(first.reading, first.addr, engines[1].addr))]
        we, we_row, we_pad = Signal(), Signal(range(max(R, 2))), Signal()
        m.d.sync += [we.eq(reading), we_row.eq(Mux(first.reading, first.row, engines[1].row)),
                     we_pad.eq(Mux(first.reading, first.pad, engines[1].pad))]
        with m.If(we):
            m.d.sync += weight_load.eq(weight_load + 1)
        m.d.comb += [
            array.w_we.eq(Cat(*[we & (we_row == r) for r in range(R)])),
            array.w_row.eq(Mux(we_pad, Const(int("80000000" * C, 16), 32 * C), w_read.data)),
        ]


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
        self.k_left = Signal(18, name=f"ws{index}_k_left")
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
