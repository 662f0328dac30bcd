"""AXI4 DMA engine: moves scratchpad words between DRAM and one accelerator.

Each scratchpad word (L floats) occupies ``ceil(32*L / W)`` whole bus beats in
DRAM (W = data width), so every beat belongs to exactly one word and reads
never need back-pressure.  Commands (a ``lib.stream`` of :func:`command_layout`):

* read ``words`` words from ``addr`` into scratchpad ``mem`` (weights, inputs
  or bias); with ``ring`` set the target is the weight ring buffer and the DMA
  keeps at most ``ring_words`` words ahead of what the accelerator consumed,
  so weight tiles stream in while earlier tiles compute;
* write ``words`` accumulator words to ``addr``.

Bursts are INCR, never crossing a 4 KiB boundary: writes up to 256 beats,
reads up to ``max_read_burst`` (16 by default) with up to ``max_reads``
outstanding per read channel.  Short reads keep the memory's queue short:
a port holding eight 64-beat weight bursts makes every other master's read
(an input or bias load, which its whole accelerator waits for) queue for up
to 512 cycles behind them.  A non-OKAY
response sets ``error``.  The read side is :class:`DMAReader`: one
:class:`ReadEngine` (AR, R) per channel, each an AXI4 master of its own, so
that with pages interleaved over several memory ports one accelerator reads
from all of them at once.  The write side (AW, W, B) is :class:`DMAWriter`, on
channel 0.  This component latches the command and runs one of them.
"""

from dataclasses import dataclass

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .axi import AXI4ReadSignature, AXI4Signature, Burst, Resp
from .scratchpad import (ADDR_BITS, Mem, RingSignature, ScratchpadReadSignature,
                         ScratchpadWriteSignature)

MAX_BURST_BEATS = 256
PAGE_BITS = 12
PAGE_BYTES = 1 << PAGE_BITS
BEAT_COUNT_BITS = 34        # words (24 bits) x beats per word (up to 16 at 32 bits / 512 lanes)


@dataclass(frozen=True)
class DMAParams:
    rows: int
    cols: int
    data_width: int = 512
    addr_width: int = 32
    id_width: int = 4
    max_reads: int = 4           # per read channel
    max_read_burst: int = 16     # beats of one read burst (see the module docstring)
    ring_words: int = 0          # weight ring size in words (0: no streaming)
    channels: int = 1            # read channels (AXI masters), one per interleaved memory port

    def __post_init__(self):
        if self.data_width not in (32, 64, 128, 256, 512):
            raise ValueError(f"bus data width must be 32, 64, 128, 256 or 512 bits, got {self.data_width}")
        if not 1 <= self.max_reads <= 64:
            raise ValueError("max_reads must be from 1 to 64")
        if not 1 <= self.max_read_burst <= MAX_BURST_BEATS:
            raise ValueError(f"max_read_burst must be from 1 to {MAX_BURST_BEATS} beats, got {self.max_read_burst}")
        if not 1 <= self.channels <= 8:
            raise ValueError(f"read channels must be from 1 to 8, got {self.channels}")
        if self.channels > 1:
            for lanes in {self.rows, self.cols}:
                k = self.beats_per_word(lanes)
                if k & (k - 1):
                    raise ValueError(f"several memory ports need words of a power-of-two number of bus beats "
                                     f"(whole words per 4 KiB page); a {lanes}-float word takes {k} "
                                     f"{self.data_width}-bit beats")

    def words_per_page(self, k: int) -> int:
        """Words of ``k`` beats in a 4 KiB page."""
        return PAGE_BYTES // (k * self.beat_bytes)

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


def _burst_beats(p: DMAParams, addr, left, most: int = MAX_BURST_BEATS):
    """Beats of the next burst from ``addr``: at most ``most``, and within its 4 KiB page."""
    to_page = (PAGE_BYTES - addr[0:12]) >> p.size_code
    return _min(_min(left, most), to_page)


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
            "m_axi": Out(p.bus).array(p.channels),
        })

    def elaborate(self, platform):
        m = Module()
        p = self.params
        m.submodules.reader = reader = DMAReader(p)
        m.submodules.writer = writer = DMAWriter(p)
        wiring.connect(m, reader.sp_wr, wiring.flipped(self.sp_wr))
        wiring.connect(m, reader.ring, wiring.flipped(self.ring))
        wiring.connect(m, writer.sp_rd, wiring.flipped(self.sp_rd))
        for c, port in enumerate(self.m_axi):        # reads on every channel, writes on channel 0
            bus = wiring.flipped(port)
            wiring.connect(m, reader.bus[c].ar, bus.ar)
            wiring.connect(m, reader.bus[c].r, bus.r)
        bus = wiring.flipped(self.m_axi[0])
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
            # a write leaves the reader as it was: the ring's ``arrived`` stays whole while
            # the array consumes its last tiles under an early write-back
            reader.start.eq(start & ~cmd.write), reader.enable.eq(active & ~writing), reader.addr.eq(cmd.addr),
            reader.beats.eq(beats), reader.beats_per_word.eq(beats_per_word),
            reader.mem.eq(cmd.mem), reader.ring_mode.eq(cmd.ring), reader.words.eq(cmd.words),
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
    """AR bursts and R beats over ``channels`` AXI masters: whole words into a scratchpad.

    Engine ``c`` (:class:`ReadEngine`) reads the command's pages with
    ``page % channels == c``; with pages interleaved over as many memory ports
    (hw/interconnect.py) each engine has a port to itself, so one accelerator
    keeps bursts in flight on every port.  Words complete out of order across
    engines: they share the scratchpad's one write port (the earliest word
    first; the others hold their last beat), and ``ring.arrived`` counts the
    words that arrived without a gap.
    """

    def __init__(self, params: DMAParams):
        self.params = params
        p = params
        super().__init__({
            **_engine_ports(p),
            "beats_per_word": In(range(p.max_beats_per_word + 1)), "mem": In(Mem), "ring_mode": In(1),
            "words": In(ADDR_BITS),
            "bus": Out(AXI4ReadSignature(p.bus)).array(p.channels),
            "sp_wr": Out(ScratchpadWriteSignature(32 * max(p.rows, p.cols))),
            "ring": Out(RingSignature()),
        })

    def elaborate(self, platform):
        m = Module()
        p = self.params
        engines = []
        for c in range(p.channels):
            engine = ReadEngine(p, c)
            m.submodules[f"engine{c}"] = engine
            wiring.connect(m, engine.bus, wiring.flipped(self.bus[c]))
            m.d.comb += [engine.start.eq(self.start), engine.enable.eq(self.enable), engine.addr.eq(self.addr),
                         engine.beats.eq(self.beats), engine.beats_per_word.eq(self.beats_per_word),
                         engine.ring_mode.eq(self.ring_mode), engine.consumed.eq(self.ring.consumed)]
            engines.append(engine)
        mem, words, nbytes = Signal(Mem), Signal(ADDR_BITS), Signal(32)
        with m.If(self.start):
            m.d.sync += [mem.eq(self.mem), words.eq(self.words)]
        fires = [e.fire for e in engines]
        m.d.sync += nbytes.eq(nbytes + sum(fires) * p.beat_bytes)
        m.d.comb += [self.idle.eq(Cat(*[e.idle for e in engines]).all()), self.beat.eq(Cat(*fires).any()),
                     self.bad_response.eq(Cat(*[e.bad_response for e in engines]).any()),
                     self.bytes.eq(nbytes), self.sp_wr.mem.eq(mem)]
        # the scratchpad's write port: of the engines offering a whole word, the one with the
        # earliest word has it (the ring waits for words in order)
        for e in engines:
            with m.If(e.word_done):
                m.d.comb += [self.sp_wr.en.eq(1), self.sp_wr.addr.eq(e.word_addr),
                             self.sp_wr.data.eq(e.word_data[:len(self.sp_wr.data)])]
            earlier = [o.offer & (o.next_word < e.next_word) for o in engines if o is not e]
            m.d.comb += e.grant.eq(~Cat(*earlier).any() if earlier else 1)
        # words arrived without a gap: every engine's next word, and the command's end
        arrived = Const(0, 32) | words
        for e in engines:
            arrived = Mux(e.next_word < arrived, e.next_word, arrived)
        m.d.comb += self.ring.arrived.eq(arrived)
        return m


class ReadEngine(wiring.Component):
    """One read channel: the command's pages ``page % channels == channel``, in order.

    Words are numbered from the command's start; the engine assembles each
    from its ``k`` beats and ``offer``s it on the beat that completes it
    (``word_done`` once taken, only with ``grant``: otherwise the beat waits
    under RREADY low).  ``next_word`` is the first of its words not yet delivered.
    In ring mode a burst never asks for beats beyond ``(consumed +
    ring_words) * k``; once offered it is held unchanged until ARREADY (AXI:
    the payload must not change under VALID, though the ring's room grows
    meanwhile).
    """

    def __init__(self, params: DMAParams, channel: int):
        self.params, self.channel = params, channel
        p = params
        super().__init__({
            "start": In(1), "enable": In(1), "addr": In(p.addr_width), "beats": In(BEAT_COUNT_BITS),
            "beats_per_word": In(range(p.max_beats_per_word + 1)), "ring_mode": In(1), "consumed": In(32),
            "bus": Out(AXI4ReadSignature(p.bus)),
            "idle": Out(1), "fire": Out(1), "bad_response": Out(1),
            "offer": Out(1), "grant": In(1), "word_done": Out(1), "word_addr": Out(ADDR_BITS),
            "word_data": Out(p.max_beats_per_word * p.data_width), "next_word": Out(32),
        })

    @property
    def _addr_bits(self) -> int:
        return self.params.addr_width + 4     # room for the end address and one page jump past it

    def elaborate(self, platform):
        m = Module()
        p = self.params
        base, end = Signal(self._addr_bits), Signal(self._addr_bits)
        k, ring = Signal.like(self.beats_per_word), Signal()
        ar_addr, r_addr = Signal(self._addr_bits), Signal(self._addr_bits)
        first = self._first_address(m)
        with m.If(self.start):
            m.d.sync += [base.eq(self.addr), end.eq(self.addr + (self.beats << p.size_code)),
                         k.eq(self.beats_per_word), ring.eq(self.ring_mode), ar_addr.eq(first), r_addr.eq(first)]
        r_done = r_addr >= end
        r = self.bus.r
        m.d.comb += [self.idle.eq((ar_addr >= end) & r_done), self.fire.eq(r.valid & r.ready),
                     self.bad_response.eq(self.fire & (r.resp != Resp.OKAY))]
        self._address(m, base, end, k, ring, ar_addr)
        last_beat = self._assemble(m, k, ring, first, r_addr)
        m.d.comb += [self.offer.eq(r.valid & self.enable & ~r_done & last_beat),
                     r.ready.eq(self.enable & ~r_done & (~last_beat | self.grant))]
        with m.If(self.fire):
            m.d.sync += r_addr.eq(self._advance(r_addr, p.beat_bytes))
        return m

    def _first_address(self, m):
        """The engine's first byte of the command at ``addr``: the command's start if its page is
        the engine's, else the start of the engine's next page."""
        c, C = self.channel, self.params.channels
        if C == 1:
            return self.addr
        page = self.addr[PAGE_BITS:]
        rem = page % C if C & (C - 1) else page[:C.bit_length() - 1]
        ahead = Signal(range(C), name="pages_ahead")
        m.d.comb += ahead.eq(Mux(rem <= c, c - rem, c + C - rem))
        first = Signal(self._addr_bits, name="first_addr")
        m.d.comb += first.eq(Mux(ahead == 0, self.addr, (page + ahead) << PAGE_BITS))
        return first

    def _advance(self, addr, nbytes):
        """``addr + nbytes``, jumping over the other engines' pages at a page's end."""
        C = self.params.channels
        nxt = addr + nbytes
        if C == 1:
            return nxt
        return Mux(nxt[:PAGE_BITS] == 0, nxt + (C - 1) * PAGE_BYTES, nxt)

    def _address(self, m, base, end, k, ring, ar_addr):
        """Issue AR bursts while fewer than ``max_reads`` are outstanding (and the ring has room)."""
        p = self.params
        ar = self.bus.ar
        outstanding = Signal(range(p.max_reads + 1))
        left = Signal(BEAT_COUNT_BITS)
        ar_len, ring_room, offset = Signal(BEAT_COUNT_BITS), Signal(BEAT_COUNT_BITS), Signal(BEAT_COUNT_BITS)
        ring_cap = (self.consumed + p.ring_words) * k if p.ring_words else 0
        m.d.comb += [
            left.eq(Mux(ar_addr < end, (end - ar_addr) >> p.size_code, 0)),
            offset.eq((ar_addr - base) >> p.size_code),
            ar_len.eq(_burst_beats(p, ar_addr, left, p.max_read_burst)),
            ring_room.eq(Mux(ring, Mux(ring_cap > offset, ring_cap - offset, 0), ar_len)),
        ]
        ar_beats, ar_offer = Signal(BEAT_COUNT_BITS), Signal(BEAT_COUNT_BITS)
        ar_held, ar_hold = Signal(range(p.max_read_burst + 1)), Signal()
        m.d.comb += [ar_offer.eq(Mux(ring, _min(ar_len, ring_room), ar_len)),
                     ar_beats.eq(Mux(ar_hold, ar_held, ar_offer))]
        ar_go = self.enable & (left != 0) & (outstanding < p.max_reads) & (ar_beats != 0)
        with m.If(ar_go & ~ar.ready):
            m.d.sync += [ar_hold.eq(1), ar_held.eq(ar_beats)]
        with m.Else():
            m.d.sync += ar_hold.eq(0)
        m.d.comb += [
            ar.valid.eq(ar_go), ar.addr.eq(ar_addr), ar.len.eq(ar_beats - 1),
            ar.size.eq(p.size_code), ar.burst.eq(Burst.INCR), ar.id.eq(0),
        ]
        ar_fire = ar_go & ar.ready
        burst_done = self.fire & self.bus.r.last
        with m.If(ar_fire):
            m.d.sync += ar_addr.eq(self._advance(ar_addr, ar_beats << p.size_code))
        with m.If(ar_fire & ~burst_done):
            m.d.sync += outstanding.eq(outstanding + 1)
        with m.Elif(~ar_fire & burst_done):
            m.d.sync += outstanding.eq(outstanding - 1)

    def _assemble(self, m, k, ring, first, r_addr):
        """Stash beats 0..k-2 of a word; offer the whole word with its last beat.  Returns
        whether the beat on R is a word's last."""
        p = self.params
        W, most = p.data_width, p.max_beats_per_word
        r = self.bus.r
        beat_in_word = Signal(range(most + 1))
        stash = Signal(max(1, (most - 1) * W))
        last_beat = Signal()
        m.d.comb += last_beat.eq(beat_in_word == k - 1)
        for kk in range(1, most + 1):
            with m.If(k == kk):
                m.d.comb += self.word_data.eq(Cat(stash[:(kk - 1) * W], r.data) if kk > 1 else r.data)
        word_idx, sp_ptr = Signal(32), Signal(ADDR_BITS)
        m.d.comb += [self.word_done.eq(self.fire & last_beat), self.word_addr.eq(sp_ptr),
                     self.next_word.eq(word_idx)]
        first_word = Signal(32)
        m.d.comb += first_word.eq(self._word_index(self.beats_per_word, first - self.addr))
        with m.If(self.start):
            m.d.sync += [beat_in_word.eq(0), word_idx.eq(first_word),
                         sp_ptr.eq(Mux(self.ring_mode, self._ring_index(m, first_word), first_word))]
        with m.Elif(self.word_done):
            page_end = (r_addr[:PAGE_BITS] + p.beat_bytes)[PAGE_BITS]      # the page's last word
            jump = self._jump_words(k)
            m.d.sync += [beat_in_word.eq(0), word_idx.eq(word_idx + 1 + Mux(page_end, jump, 0)),
                         sp_ptr.eq(Mux(ring, self._ring_step(sp_ptr, page_end), sp_ptr + 1 + Mux(page_end, jump, 0)))]
        with m.Elif(self.fire):
            m.d.sync += beat_in_word.eq(beat_in_word + 1)
            for kk in range(most - 1):
                with m.If(beat_in_word == kk):
                    m.d.sync += stash[kk * W:(kk + 1) * W].eq(r.data)
        return last_beat

    def _word_index(self, k, offset):
        """The word at byte ``offset`` from the command's start (words of whole pages: channels > 1)."""
        p = self.params
        if p.channels == 1:
            return Const(0, 32)
        kc, kr = p.beats_per_word(p.cols), p.beats_per_word(p.rows)
        shift = {kk: (kk * p.beat_bytes).bit_length() - 1 for kk in (kc, kr)}
        return Mux(k == kc, offset >> shift[kc], offset >> shift[kr])

    def _jump_words(self, k):
        """Words in the other engines' pages between two of this engine's."""
        p = self.params
        if p.channels == 1:
            return Const(0, 1)
        kc, kr = p.beats_per_word(p.cols), p.beats_per_word(p.rows)
        return Mux(k == kc, (p.channels - 1) * p.words_per_page(kc), (p.channels - 1) * p.words_per_page(kr))

    def _ring_index(self, m, word):
        """``word`` modulo the ring's size (an engine starts within the command's first pages)."""
        p = self.params
        if not p.ring_words or p.channels == 1:
            return word
        span = p.channels * p.words_per_page(p.beats_per_word(p.cols))
        for step in range(-(-span // p.ring_words)):
            reduced = Signal(32, name=f"ring_first{step}")
            m.d.comb += reduced.eq(Mux(word >= p.ring_words, word - p.ring_words, word))
            word = reduced
        return word

    def _ring_step(self, ptr, page_end):
        """The ring slot of the engine's next word (a page's end skips the other engines' words)."""
        p = self.params
        if not p.ring_words:
            return ptr + 1
        jump = ((p.channels - 1) * p.words_per_page(p.beats_per_word(p.cols))) % p.ring_words \
            if p.channels > 1 else 0
        nxt = ptr + 1 + Mux(page_end, jump, 0)
        return Mux(nxt >= p.ring_words, nxt - p.ring_words, nxt)


class DMAWriter(wiring.Component):
    """AW bursts, W beats from the accumulator words, B responses.

    The result port is read once per word (SRAM energy), only while a write
    command runs and only once the word is final (the port's ``ready``), so a
    write-back issued while the array computes its last K-tile follows it
    word by word; while a word's beats go out, the next word is being read.
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
                     self.sp_rd.en.eq(self.enable & ~(rd_valid & (rd_addr_q == self.sp_rd.addr))
                                      & (self.sp_rd.addr < self.sp_rd.ready)),
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
