"""Cycle model of a whole SoC phase: DMA, interconnect, DRAM model and arrays.

sim/golden/perf.py gives the array controller's cycles once its operands are
in the scratchpads; this module adds everything around it, so the cycles of
a phase (P accelerators started together on the shared memory) come out
without simulating the RTL.  It steps cycle by cycle through the same
registers as the RTL, but skips the cycles in which nothing but time passes
(an array computing while the ring is full, reads waiting for DRAM latency),
and it replaces the array by perf.py's tile walk, so a phase costs about one
Python step per bus beat.  Rules, each from the block named:

* node (hw/node.py): start -> SIZE -> WORDS -> CHECK -> LOAD_X -> LOAD_B (only
  with a bias) -> RUN -> STORE -> DONE, one cycle per state at least; a DMA
  command is taken the first cycle of its state, and the state ends the
  cycle after the DMA dropped ``busy``.  RUN starts the array and the weight
  command together; it ends the cycle after the array raised ``done``.  The
  first cycle in RUN that finds the weight command ended while the array is
  still busy issues the STORE command early; its W data then reads word w
  only once w is final (the last K-tile wrote it: ``latency + 2`` cycles
  after its issue, or all words once the array is done), and STORE waits for
  that command to end.  A write command leaves the read engines, and the
  ring's arrived count, as they were.  The ``cycles`` counter counts
  start -> DONE.
* DMA (hw/dma.py): one read engine per port, engine c reading the pages
  ``page % M == c``; whole words take the scratchpad's write port earliest
  word first (the others hold their beat); the ring counts words without a
  gap.  A command is latched at the edge, so its first AR or AW
  goes out the next cycle; bursts are min(left, most, beats to the 4 KiB
  page) beats, ``most`` = ``max_read_burst`` for reads and 256 for
  writes, at most ``max_reads`` read bursts outstanding, writes unlimited;
  in ring mode (weights) a burst never asks beyond
  ``(consumed + ring_words) * k`` beats, and a burst offered but not yet
  accepted keeps its length.  A word of L floats is ceil(32 L / W) beats.
  W data reads the accumulator port one word ahead: with one beat per word
  a beat goes out every second cycle, with several the word's beats go out
  back to back.  A command ends the cycle after its last R beat, or after
  its last B response.
* array (hw/accelerator.py, perf.py): running 4 cycles after its start;
  tile j's stream may start only once its R words arrived (visible the cycle
  after the last beat), then perf.py's rules; the ring gets the tile's words
  back (R x la + 2 cycles after its stream started, perf.py's engine rule).
* interconnect (hw/interconnect.py): per port and address channel, round
  robin from the pointer, a grant held while the port stalls; pages of 4 KiB
  interleave the ports; a master addresses one port at a time per direction
  (up to 8 outstanding) and must drain before it switches; W follows AW order.
* DRAM model (sim/designs/mem/tb/axi_mem_model.sv): an R beat READ_LATENCY cycles after
  its AR at the earliest, bursts in AR order, one beat per BEAT_INTERVAL;
  reads and writes share the beat budget, alternating when both want it; B
  WRITE_LATENCY cycles after the last W beat; at most MAX_OUTSTANDING bursts
  per direction.
* testbench (sim/designs/soc/tb_phase.py): the accelerators start ``START_GAP``
  cycles apart (one CSR write each); ``phase_cycles`` is the last interrupt
  minus the first start as the testbench reads them.
"""

from bisect import bisect_right
from dataclasses import dataclass

import numpy as np

from hw.node import REGISTERS
from hw.scratchpad import ADDR_BITS
from hw.soc import SoCParams
from sim.designs.soc.soc_layout import PAGE, layer_placement, phase_window
from sim.designs.soc.soc_tb import MemoryParams
from .perf import _stream_start

# The testbench (sim/designs/soc/tb_phase.py) over cocotbext-axi's AXI4-Lite master: every CSR
# write takes CSR_WRITE cycles; the first register write starts BENCH_PROLOGUE cycles
# after time 0 (reset, image load); it reads a start time CSR_TO_IRQ cycles before the
# node's start plus the cycle from DONE to the interrupt, and times in cycles are
# rounded half to even (edges fall on half cycles of its clock).
CSR_WRITE = 3
BENCH_PROLOGUE = 5.5
CSR_TO_IRQ = 4
START_GAP = CSR_WRITE    # cycles between the start writes of consecutive accelerators
MAX_OUTSTANDING_IC = 8   # interconnect: per master and direction (hw/interconnect.py)
W_FIFO_DEPTH = 8


@dataclass(frozen=True)
class Layer:
    """One accelerator's work in a phase: an M x K layer on N vectors."""
    M: int
    K: int
    N: int
    bias: bool = True


class _Array:
    """perf.py's tile walk, fed tile by tile as the weights arrive (running-relative cycles)."""

    def __init__(self, array, M, K, N):
        self.a, self.N = array, N
        self.MT = -(-M // array.cols)
        self.tiles = -(-K // array.rows) * self.MT
        self.starts, self.first, self.issues = [], [], {}
        self.final = []     # per result word, the running cycle from which it is final
        self.t = 0
        self.last = None

    def tile_arrived(self, arrived: int) -> int:
        """Tile j's words are in from running cycle ``arrived``: its stream start, and the cycle
        its ring words are free again."""
        a, N, j = self.a, self.N, len(self.starts)
        earliest = self.first[-1] + a.load_after if j else 0
        s = _stream_start(a, max(earliest, arrived), self.starts)
        self.starts.append(s)
        start = max(self.t, s + 2)
        n = np.arange(N, dtype=np.int64)
        if j >= self.MT:
            dep = self.issues.pop(j - self.MT) + a.latency + 2
            issue = np.maximum.accumulate(np.maximum(dep - n, start)) + n
        else:
            issue = start + n
        self.issues[j] = issue
        if j >= self.tiles - self.MT:              # the last K-tile: its words are final when written
            self.final.extend((issue + a.latency + 2).tolist())
        self.first.append(int(issue[0]))
        self.t = int(issue[-1]) + 1
        self.last = int(issue[-1])
        return s + (a.rows - 1) * a.add_latency + 2

    def total(self) -> int:
        return 3 + self.last + self.a.latency + 3


class _ReadEngine:
    """hw/dma.py's ReadEngine: one read channel, the command's pages ``page % C == c``."""

    def __init__(self, soc: SoCParams, channel: int):
        d = soc.dma
        self.c, self.C, self.beat = channel, d.channels, d.beat_bytes
        self.max_reads, self.ring_words, self.max_burst = d.max_reads, d.ring_words, d.max_read_burst
        self.ar_addr = self.r_addr = self.end = 0
        self.outstanding, self.ar_hold, self.ar_held = 0, False, 0

    def latch(self, addr, beats, k, ring):
        page = addr // PAGE
        ahead = (self.c - page % self.C) % self.C
        first = addr if ahead == 0 else (page + ahead) * PAGE
        self.base, self.end, self.k, self.ring = addr, addr + beats * self.beat, k, ring
        self.ar_addr = self.r_addr = first
        self.outstanding, self.ar_hold, self.beat_in_word = 0, False, 0
        self.word = (first - addr) // (k * self.beat)
        self.jump = (self.C - 1) * (PAGE // (k * self.beat)) if self.C > 1 else 0

    def _advance(self, addr, nbytes):
        nxt = addr + nbytes
        return nxt + (self.C - 1) * PAGE if self.C > 1 and nxt % PAGE == 0 else nxt

    @property
    def idle(self):
        return self.ar_addr >= self.end and self.r_addr >= self.end

    @property
    def r_done(self):
        return self.r_addr >= self.end

    @property
    def last_beat(self):
        return self.beat_in_word == self.k - 1

    def ar_request(self, t, consumed):
        """(address, beats) of this cycle's AR, or None."""
        if self.ar_addr >= self.end or self.outstanding >= self.max_reads:
            return None
        if self.ar_hold:
            beats = self.ar_held
        else:
            left = (self.end - self.ar_addr) // self.beat
            beats = min(left, self.max_burst, (PAGE - self.ar_addr % PAGE) // self.beat)
            if self.ring:
                cap = (consumed(t) + self.ring_words) * self.k
                beats = min(beats, max(cap - (self.ar_addr - self.base) // self.beat, 0))
        return (self.ar_addr, beats) if beats else None

    def step(self, ar, ar_fire, r_fire, r_last):
        """The clock edge; returns whether a word completed."""
        if ar is not None:
            self.ar_hold, self.ar_held = (not ar_fire), ar[1]
        else:
            self.ar_hold = False
        if ar_fire:
            self.ar_addr = self._advance(self.ar_addr, ar[1] * self.beat)
        self.outstanding += int(ar_fire) - int(r_fire and r_last)
        if not r_fire:
            return False
        word = self.last_beat
        if word:
            page_end = (self.r_addr + self.beat) % PAGE == 0
            self.word += 1 + (self.jump if page_end else 0)
            self.beat_in_word = 0
        else:
            self.beat_in_word += 1
        self.r_addr = self._advance(self.r_addr, self.beat)
        return word


class _Dma:
    """hw/dma.py's registers; one command at a time, its reads over ``channels`` engines."""

    def __init__(self, soc: SoCParams, consumed, results_ready):
        d = soc.dma
        self.beat = d.beat_bytes
        self.kc, self.kr = d.beats_per_word(soc.array.cols), d.beats_per_word(soc.array.rows)
        self.consumed = consumed          # f(t): the array's consumed ring words in cycle t
        self.results_ready = results_ready  # f(t): result words final in cycle t (the port's ready)
        self.engines = [_ReadEngine(soc, c) for c in range(d.channels)]
        self.active = self.ring = False
        self.words = 0

    def latch(self, write, ring, addr, words, inputs):
        k = self.kc if write or not inputs else self.kr
        beats = words * k
        self.active, self.writing, self.k = words != 0, write, k
        if not write:                      # a write leaves the reader (and the ring's arrived) as it was
            self.ring, self.words = ring, words
            for e in self.engines:
                e.latch(addr, beats, k, ring)
        self.aw_addr = self.w_addr = addr
        self.aw_left = self.w_left = beats if write else 0
        self.aw_bursts = self.w_bursts = self.b_done = 0
        self.w_in_burst, self.w_burst_left, self.w_beat, self.w_ptr, self.w_have = False, 0, 0, 0, False
        self.rd_valid, self.rd_q = False, -1

    @property
    def arrived(self):
        """Words arrived without a gap (ring.arrived)."""
        return min([self.words] + [e.word for e in self.engines])

    def _burst(self, addr, left):
        return min(left, 256, (PAGE - addr % PAGE) // self.beat)

    def reading(self):
        return self.active and not self.writing

    def ar_request(self, t, c):
        return self.engines[c].ar_request(t, self.consumed) if self.reading() else None

    def aw_request(self):
        if self.active and self.writing and self.aw_left:
            return self.aw_addr, self._burst(self.aw_addr, self.aw_left)
        return None

    def w_valid(self):
        return (self.active and self.writing and self.w_have and self.w_left != 0
                and (self.w_in_burst or self.w_bursts < self.aw_bursts))

    def w_last(self):
        return self.w_burst_left == 1 if self.w_in_burst else self._burst(self.w_addr, self.w_left) == 1

    def step(self, t, ars, ar_fires, r_fires, r_lasts, aw, aw_fire, w_fire, b_fire):
        """The clock edge of cycle t (per engine: its AR, AR handshake, R handshake and RLAST);
        returns whether a word completed."""
        if not self.active:
            return False
        finished = ((not self.writing and all(e.idle for e in self.engines))
                    or (self.writing and self.w_left == 0 and self.aw_left == 0
                        and self.b_done == self.aw_bursts and not b_fire))
        word_done = False
        for e, ar, ar_fire, r_fire, r_last in zip(self.engines, ars, ar_fires, r_fires, r_lasts):
            word_done |= e.step(ar, ar_fire, r_fire, r_last)
        if self.writing:
            self._w_step(t, aw, aw_fire, w_fire)
        if finished:
            self.active = False
        if b_fire:
            self.b_done += 1
        return word_done

    def _w_step(self, t, aw, aw_fire, w_fire):
        # the accumulator read port (sync read), one word ahead of the beats
        rd_addr = self.w_ptr + 1 if self.w_have else self.w_ptr
        rd_en = not (self.rd_valid and self.rd_q == rd_addr) and rd_addr < self.results_ready(t)
        rd_q, rd_valid = self.rd_q, self.rd_valid
        if rd_en:
            self.rd_q, self.rd_valid = rd_addr, True
        if not self.w_have and rd_valid and rd_q == self.w_ptr:
            self.w_have = True
        if aw_fire:
            self.aw_addr += aw[1] * self.beat
            self.aw_left -= aw[1]
            self.aw_bursts += 1
        if w_fire:
            w_len = self._burst(self.w_addr, self.w_left)
            self.w_left -= 1
            self.w_addr += self.beat
            if not self.w_in_burst:
                self.w_in_burst, self.w_burst_left = w_len != 1, w_len - 1
                if w_len == 1:
                    self.w_bursts += 1
            else:
                self.w_burst_left -= 1
                if self.w_burst_left == 0:
                    self.w_in_burst = False
                    self.w_bursts += 1
            if self.w_beat == self.kc - 1:
                self.w_beat = 0
                self.w_ptr += 1
                if not (rd_valid and rd_q == self.w_ptr):
                    self.w_have = False
            else:
                self.w_beat += 1

    def w_state(self):
        return (self.w_have, self.w_ptr, self.rd_valid, self.rd_q)


class _Port:
    """One axi_mem_model: in-order read and write queues, one shared beat budget."""

    def __init__(self, mem: MemoryParams):
        self.rl, self.wl, self.gap = mem.read_latency, mem.write_latency, mem.beat_interval - 1
        self.max = mem.max_outstanding
        self.rq, self.ro, self.wq, self.bq = [], [], [], []    # [master, beats left - 1, due]
        self.rd_out = self.wr_out = 0
        self.ro_gap = self.r_gap = 0
        self.prio_w = False
        self.stats = {"read_beats": 0, "write_beats": 0, "read_bursts": 0, "write_bursts": 0}

    def r_want(self, t):
        return bool(self.rq) and t >= self.rq[0][2] and len(self.ro) < 2

    def r_valid(self):
        return self.ro[0] if self.ro and self.ro_gap == 0 else None

    def b_valid(self, t):
        return self.bq[0][0] if self.bq and t >= self.bq[0][1] else None

    def step(self, t, r_want, w_contend, ar, aw, r_fire, r_last, w_fire, b_fire):
        """ar / aw: (master, beats) accepted this cycle.  Returns whether anything moved."""
        slot = self.r_gap == 0
        r_fetch = r_want and slot and not (w_contend and self.prio_w)
        if ar:
            self.rq.append([ar[0], ar[1] - 1, t + self.rl - 1])
        self.rd_out += bool(ar) - (r_fire and r_last)
        if r_fetch:
            head = self.rq[0]
            self.ro.append((head[0], head[1] == 0))
            if head[1] == 0:
                self.rq.pop(0)
            else:
                head[1] -= 1
        if r_fire:
            self.ro.pop(0)
            self.ro_gap = self.gap
        elif self.ro_gap:
            self.ro_gap -= 1
        if aw:
            self.wq.append([aw[0], aw[1] - 1])
        if w_fire:
            head = self.wq[0]
            if head[1] == 0:
                self.wq.pop(0)
                self.bq.append((head[0], t + self.wl))
            else:
                head[1] -= 1
        if b_fire:
            self.bq.pop(0)
        self.wr_out += bool(aw) - b_fire
        for key, hit in (("read_beats", r_fire), ("write_beats", w_fire), ("read_bursts", ar), ("write_bursts", aw)):
            self.stats[key] += bool(hit)
        busy = self.r_gap or self.ro_gap
        if r_fetch or w_fire:
            self.r_gap = self.gap
        elif self.r_gap:
            self.r_gap -= 1
        if r_fetch and w_contend:
            self.prio_w = True
        if w_fire and r_want:
            self.prio_w = False
        return bool(r_fetch or ar or aw or r_fire or w_fire or b_fire or busy)

    def wake(self):
        """Cycles at which a waiting port acts (its head read or write response falls due)."""
        return [q[0][-1] for q in (self.rq, self.bq) if q]


class _Arbiter:
    """Round robin over the masters for one port's address channel, grant held under stall."""

    def __init__(self, masters):
        self.n, self.pointer, self.locked, self.held = masters, 0, False, 0

    def pick(self, requests):
        """requests: set of masters asking this port.  Returns the granted master or None."""
        if self.locked:
            return self.held
        for off in range(self.n):
            i = (self.pointer + off) % self.n
            if i in requests:
                return i
        return None

    def step(self, pick, fire):
        changed = False
        if fire:
            self.locked, self.pointer = False, (pick + 1) % self.n
            changed = True
        elif pick is not None and not self.locked:
            self.locked, self.held, changed = True, pick, True
        return changed


_STATES = ("SIZE", "WORDS", "CHECK", "LOAD_X")


class _Node:
    """hw/node.py's sequencer around one DMA and one array."""

    def __init__(self, soc: SoCParams, layer: Layer, base: int, start: int):
        R, C, W = soc.array.rows, soc.array.cols, soc.bus_width
        self.R, self.layer, self.t0 = R, layer, start
        self.place = layer_placement(layer.M, layer.K, layer.N, layer.bias, R, C, W, base)
        KT, MT = -(-layer.K // R), -(-layer.M // C)
        self.words = {"x": KT * layer.N, "b": MT, "w": KT * MT * R, "y": MT * layer.N}
        self.array = _Array(soc.array, layer.M, layer.K, layer.N)
        self.freed = []                    # cycles from which each consumed tile's ring words are free
        self.dma = _Dma(soc, self._consumed, self._results_ready)
        self.state, self.issued, self.acc_started, self.storing = "IDLE", False, False, False
        self.run0 = self.done_at = self.finish = None

    def _consumed(self, t):
        return bisect_right(self.freed, t) * self.R

    def _results_ready(self, t):
        if self.done_at is not None and t >= self.done_at:
            return (1 << ADDR_BITS) - 1            # the array is idle: every word (the port's ready)
        return bisect_right(self.array.final, t - (self.run0 + 4))

    def _array_busy(self, t):
        return self.done_at is None or t < self.done_at

    def _command(self):
        p, w = self.place, self.words
        return {"LOAD_X": (False, False, p.x_addr, w["x"], True), "LOAD_B": (False, False, p.b_addr, w["b"], False),
                "RUN": (False, True, p.w_addr, w["w"], False), "STORE": (True, False, p.y_addr, w["y"], False)}

    def tiles_arrived(self, t):
        """Ring words arrived in cycle t: each whole tile makes the array's stream possible."""
        while len(self.array.starts) < self.array.tiles and \
                self.dma.arrived >= (len(self.array.starts) + 1) * self.R:
            free = self.array.tile_arrived(t + 1 - (self.run0 + 4))
            self.freed.append(self.run0 + 4 + free)
            if len(self.array.starts) == self.array.tiles:
                self.done_at = self.run0 + self.array.total() + 1

    def step(self, t, active0):
        """The sequencer's edge, from this cycle's registers (``active0``: the DMA's busy)."""
        s = self.state
        if s == "IDLE":
            if t == self.t0:
                self.state = "SIZE"
                return True
            return False
        if s in _STATES[:3]:
            self.state = _STATES[_STATES.index(s) + 1]
            return True
        if s == "DONE":
            self.state, self.finish = "END", t
            return True
        if s == "END":
            return False
        if s == "LOAD_B" and not self.layer.bias:
            self.state = "RUN"
            return True
        changed = False
        if s == "RUN" and not self.acc_started:
            self.acc_started, self.run0, changed = True, t, True
        if not self.issued and not active0:
            self.dma.latch(*self._command()[s])
            self.issued = changed = True
        elif s == "RUN" and self.storing:          # the early write-back runs: STORE waits for it
            if not self._array_busy(t):
                self.state, changed = "STORE", True
        elif s == "RUN" and not active0 and self._array_busy(t):
            self.dma.latch(*self._command()["STORE"])   # the last weight is in: write back early
            self.storing = changed = True
        elif self.issued and not active0:
            if s != "RUN" or (self.done_at is not None and t >= self.done_at):
                self.issued = False
                self.state = {"LOAD_X": "LOAD_B", "LOAD_B": "RUN", "RUN": "STORE", "STORE": "DONE"}[s]
                changed = True
        return changed

    def wake(self, t):
        times = [self.t0] if self.state == "IDLE" else []
        if self.done_at is not None:
            times.append(self.done_at)
        i = bisect_right(self.freed, t)
        times += self.freed[i:i + 1]
        if self.storing:                           # the write-back waits for the next final word
            running = self.run0 + 4
            i = bisect_right(self.array.final, t - running)
            times += [running + f for f in self.array.final[i:i + 1]]
        return times


def _scratchpad_writers(nodes, ports, track, M) -> dict:
    """Per accelerator, the read channel whose whole word takes the scratchpad's write port
    this cycle: of those whose R beat completes a word, the one with the earliest word."""
    offers = {}
    for j, port in enumerate(ports):
        rv = port.r_valid()
        if rv is None:
            continue
        i, c = divmod(rv[0], M)
        d = nodes[i].dma
        e = d.engines[c]
        if d.reading() and not e.r_done and track["rd"][rv[0]][1] == j and e.last_beat:
            offers.setdefault(i, []).append((e.word, c))
    return {i: min(o)[1] for i, o in offers.items()}


def _ports_of(addr, ports):
    return (addr // PAGE) % ports


def simulate(soc: SoCParams, layers: dict, mem: MemoryParams = MemoryParams(), window: int | None = None) -> dict:
    """Cycles of one phase: ``layers`` {accelerator index: Layer}, started together as the
    testbench does (in index order, START_GAP apart), each in its own DRAM window as
    sim/designs/soc/soc_driver.py places them.  Returns per accelerator the node's ``cycles`` and
    ``array_cycles`` counters and its finish, and the testbench's ``phase_cycles``."""
    R, C, W = soc.array.rows, soc.array.cols, soc.bus_width
    if window is None:
        window = phase_window([layer_placement(l.M, l.K, l.N, l.bias, R, C, W, 0).end for l in layers.values()],
                              soc.mem_ports)
    order = sorted(layers)
    nodes = {i: _Node(soc, layers[i], i * window, k * START_GAP) for k, i in enumerate(order)}
    P, M = soc.accelerators, soc.mem_ports
    ports = [_Port(mem) for _ in range(M)]
    # interconnect masters: accelerator i's read channel c is master i * M + c (it reads port c
    # only); its writes go out on master i * M
    ar_arb = [_Arbiter(P * M) for _ in range(M)]
    aw_arb = [_Arbiter(P * M) for _ in range(M)]
    w_order = [[] for _ in range(M)]
    track = {d: {i * M + c: [0, 0] for i in nodes for c in range(M)} for d in ("rd", "wr")}  # [outstanding, port]
    t = steps = 0
    while any(n.state != "END" for n in nodes.values()):
        active0 = {i: n.dma.active for i, n in nodes.items()}
        ars = {i * M + c: n.dma.ar_request(t, c) for i, n in nodes.items() for c in range(M)}
        aws = {i * M: n.dma.aw_request() for i, n in nodes.items()}
        ar_fire, aw_fire, ar_acc, aw_acc = {}, {}, [None] * M, [None] * M
        moved = False
        steps += 1
        for reqs, arb, fire, acc, kind in ((ars, ar_arb, ar_fire, ar_acc, "rd"), (aws, aw_arb, aw_fire, aw_acc, "wr")):
            for j in range(M):
                want = set()
                for mi, r in reqs.items():
                    if r is None or _ports_of(r[0], M) != j:
                        continue
                    out, cur = track[kind][mi]
                    if (out == 0 or (cur == j and out < MAX_OUTSTANDING_IC)) and \
                            (kind == "rd" or len(w_order[j]) < W_FIFO_DEPTH):
                        want.add(mi)
                pick = arb[j].pick(want)
                ready = ports[j].rd_out < ports[j].max if kind == "rd" else ports[j].wr_out < ports[j].max
                ok = pick is not None and ready
                moved |= arb[j].step(pick, ok)
                if ok:
                    fire[pick] = True
                    acc[j] = (pick, reqs[pick][1])
                    if kind == "wr":
                        w_order[j].append(pick)
        r_fire, r_last, w_fire, b_fire = {}, {}, {}, {}
        sp_writer = _scratchpad_writers(nodes, ports, track, M)
        for j, port in enumerate(ports):
            r_want = port.r_want(t)
            rv = port.r_valid()
            rf = rl = wf = bf = False
            if rv is not None:
                i, c = divmod(rv[0], M)
                d = nodes[i].dma
                e = d.engines[c]
                if d.reading() and not e.r_done and track["rd"][rv[0]][1] == j and \
                        not (e.last_beat and sp_writer.get(i) != c):
                    rf, rl = True, rv[1]
                    r_fire[rv[0]], r_last[rv[0]] = True, rv[1]
            head = w_order[j][0] if w_order[j] else None
            writer = nodes[head // M].dma if head is not None else None
            w_contend = writer is not None and writer.w_valid() and bool(port.wq)
            if w_contend and port.r_gap == 0 and not (r_want and not port.prio_w):
                wf = True
                w_fire[head] = True
                if writer.w_last():
                    w_order[j].pop(0)
            bm = port.b_valid(t)
            if bm is not None and nodes[bm // M].dma.active and nodes[bm // M].dma.writing:
                bf = True
                b_fire[bm] = True
            moved |= port.step(t, r_want, w_contend, ar_acc[j], aw_acc[j], rf, rl, wf, bf)
        for mi in track["rd"]:
            for kind, fired, done, reqs in (("rd", ar_fire, r_fire.get(mi) and r_last.get(mi), ars),
                                            ("wr", aw_fire, b_fire.get(mi), aws)):
                tr = track[kind][mi]
                if fired.get(mi):
                    tr[1] = _ports_of(reqs[mi][0], M)
                tr[0] += int(bool(fired.get(mi))) - int(bool(done))
        for i, n in nodes.items():
            d = n.dma
            masters = [i * M + c for c in range(M)]
            before = (d.active, [e.ar_hold for e in d.engines], d.w_state() if d.active and d.writing else None)
            word = d.step(t, [ars[mi] for mi in masters], [ar_fire.get(mi, False) for mi in masters],
                          [r_fire.get(mi, False) for mi in masters], [r_last.get(mi, False) for mi in masters],
                          aws[i * M], aw_fire.get(i * M, False), w_fire.get(i * M, False), b_fire.get(i * M, False))
            if word and d.ring:
                n.tiles_arrived(t)
            after = (d.active, [e.ar_hold for e in d.engines], d.w_state() if d.active and d.writing else None)
            moved |= before != after
            moved |= n.step(t, active0[i])
        if moved:
            t += 1
            continue
        wake = [w for n in nodes.values() for w in n.wake(t)] + [w for p in ports for w in p.wake()]
        later = [w for w in wake if w > t]
        if not later:
            raise RuntimeError(f"soc_perf: nothing can move at cycle {t} (a model bug)")
        t = min(later)
    first = BENCH_PROLOGUE + CSR_WRITE * len(REGISTERS) * len(nodes)
    accs = {}
    for i, n in nodes.items():
        start, end = first + n.t0, first + n.finish + CSR_TO_IRQ
        accs[i] = {"cycles": n.finish - n.t0, "array_cycles": n.array.total(),
                   "start": round(start), "finish": round(end) - round(start), "end": round(end)}
    phase = max(a["end"] for a in accs.values()) - round(first)
    return {"accelerators": accs, "phase_cycles": phase, "memory": [p.stats for p in ports], "model_steps": steps}
