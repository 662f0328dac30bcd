"""AXI4 interconnect: N masters share M memory ports (the paper's shared bus).

* Each port grants its address channels round-robin among the masters that
  request it; a grant is held while the port stalls (AXI payloads must not
  change under VALID) and the pointer moves past the winner after each
  handshake, so no master waits more than N-1 transfers.
* With M > 1 ports (a power of two) addresses are interleaved by 4 KiB page:
  page p lives on port p % M at local page p // M.  Bursts never cross a
  4 KiB boundary, so a burst stays on one port.
* Ordering: a master may have outstanding reads (writes) to one port at a
  time; it waits for them to drain before it addresses another (the
  "single slave per ID" rule of common crossbars), so responses for one ID
  always return in order.
* IDs towards the ports carry the master index in their top bits; R and B
  are routed back by it.  W data follows the order in which the port
  granted AW, kept in a small FIFO per port.
"""

from dataclasses import dataclass

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring

from . import axi


@dataclass(frozen=True)
class InterconnectParams:
    masters: int
    ports: int = 1
    addr_width: int = 32
    data_width: int = 512
    id_width: int = 4              # master-side ID width
    max_outstanding: int = 8       # per master and direction
    w_fifo_depth: int = 8

    def __post_init__(self):
        if not 1 <= self.masters <= 16:
            raise ValueError("masters must be from 1 to 16")
        if self.ports not in (1, 2, 4, 8):
            raise ValueError(f"memory ports must be 1, 2, 4 or 8, got {self.ports}")

    @property
    def index_bits(self) -> int:
        return max(1, (self.masters - 1).bit_length())

    @property
    def port_id_width(self) -> int:
        return self.id_width + self.index_bits

    @property
    def port_bits(self) -> int:
        return (self.ports - 1).bit_length()


class Interconnect(wiring.Component):
    def __init__(self, params: InterconnectParams):
        self.params = params
        p = params
        members = {}
        for i in range(p.masters):
            members.update(axi.ports(f"s{i}_axi", axi.axi4_channels(p.addr_width, p.data_width, p.id_width), master=False))
        for j in range(p.ports):
            members.update(axi.ports(f"m{j}_axi", axi.axi4_channels(p.addr_width, p.data_width, p.port_id_width), master=True))
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        p = self.params
        N, M = p.masters, p.ports
        mch = axi.axi4_channels(p.addr_width, p.data_width, p.id_width)
        sch = axi.axi4_channels(p.addr_width, p.data_width, p.port_id_width)
        masters = [axi.Bundle.of(self, f"s{i}_axi", mch) for i in range(N)]
        ports = [axi.Bundle.of(self, f"m{j}_axi", sch) for j in range(M)]

        def port_of(addr):
            return addr[12:12 + p.port_bits] if M > 1 else Const(0, 1)

        def local(addr):
            return Cat(addr[:12], addr[12 + p.port_bits:], Const(0, p.port_bits)) if M > 1 else addr

        # all state, built up front: per master and direction the outstanding
        # transactions and their port; per port the W-order FIFO
        track = {kind: [_Outstanding.build(p, kind, i) for i in range(N)] for kind in ("rd", "wr")}
        w_order = [_WOrderFifo.build(p, j) for j in range(M)]
        self._address_channel(m, masters, ports, "ar", port_of, local, track["rd"], w_order)
        self._address_channel(m, masters, ports, "aw", port_of, local, track["wr"], w_order)
        self._responses(m, masters, ports, "r", track["rd"])
        self._responses(m, masters, ports, "b", track["wr"])
        self._write_data(m, masters, ports, track["wr"], w_order)
        return m

    def _address_channel(self, m, masters, ports, ch, port_of, local, track, w_order):
        p = self.params
        N = p.masters
        grants = {}
        for j, port in enumerate(ports):
            requests = []
            for i, mst in enumerate(masters):
                out, cur = track[i].count, track[i].port
                allowed = (out == 0) | ((cur == j) & (out < p.max_outstanding))
                if ch == "aw":
                    allowed = allowed & ~w_order[j].full
                requests.append(getattr(mst, f"{ch}valid") & (port_of(getattr(mst, f"{ch}addr")) == j) & allowed)
            req = Cat(*requests)
            pointer = Signal(range(N), name=f"{ch}{j}_rr")
            locked = Signal(name=f"{ch}{j}_locked")
            held = Signal(range(N), name=f"{ch}{j}_held")
            pick = Signal(range(N), name=f"{ch}{j}_pick")
            # round robin: first requester at or after the pointer
            chosen = Signal(range(N), name=f"{ch}{j}_chosen")
            any_req = req.any()
            expr = Const(0, range(N))
            for offset in reversed(range(N)):
                idx = Signal(range(N), name=f"{ch}{j}_cand{offset}")
                m.d.comb += idx.eq(Mux(pointer + offset >= N, pointer + offset - N, pointer + offset))
                expr = Mux(req.bit_select(idx, 1), idx, expr)
            m.d.comb += chosen.eq(expr)
            m.d.comb += pick.eq(Mux(locked, held, chosen))
            valid = Mux(locked, 1, any_req)
            fields = ("id", "addr", "len", "size", "burst")
            for f in fields:
                src = Array([getattr(mm, f"{ch}{f}") for mm in masters])[pick]
                if f == "id":
                    m.d.comb += getattr(port, f"{ch}id").eq(Cat(src, pick))
                elif f == "addr":
                    m.d.comb += getattr(port, f"{ch}addr").eq(local(src))
                else:
                    m.d.comb += getattr(port, f"{ch}{f}").eq(src)
            m.d.comb += getattr(port, f"{ch}valid").eq(valid)
            fire = valid & getattr(port, f"{ch}ready")
            with m.If(fire):
                m.d.sync += [locked.eq(0), pointer.eq(Mux(pick == N - 1, 0, pick + 1))]
            with m.Elif(valid & ~locked):
                m.d.sync += [locked.eq(1), held.eq(pick)]
            grants[j] = (pick, fire)
            if ch == "aw":
                m.d.comb += [w_order[j].push.eq(fire), w_order[j].data.eq(pick)]
        # ready back to masters, outstanding counters
        for i, mst in enumerate(masters):
            ready = Const(0, 1)
            fired = Const(0, 1)
            fired_port = Const(0, max(1, p.port_bits))
            for j in range(len(ports)):
                pick, fire = grants[j]
                hit = fire & (pick == i)
                ready = ready | hit          # only the port that granted this master answers
                fired = fired | hit
                fired_port = Mux(hit, j, fired_port)
            m.d.comb += getattr(mst, f"{ch}ready").eq(ready)
            out, cur, done = track[i].count, track[i].port, track[i].done
            with m.If(fired):
                m.d.sync += cur.eq(fired_port)
            with m.If(fired & ~done):
                m.d.sync += out.eq(out + 1)
            with m.Elif(~fired & done):
                m.d.sync += out.eq(out - 1)

    def _responses(self, m, masters, ports, ch, track):
        p = self.params
        top = slice(p.id_width, p.id_width + p.index_bits)
        for i, mst in enumerate(masters):
            cur = track[i].port
            fields = ("id", "resp", "data", "last") if ch == "r" else ("id", "resp")
            port_fields = {f: Array([getattr(pp, f"{ch}{f}") for pp in ports])[cur] for f in fields}
            port_valid = Array([getattr(pp, f"{ch}valid") for pp in ports])[cur]
            mine = port_valid & (port_fields["id"][top] == i)
            m.d.comb += [getattr(mst, f"{ch}valid").eq(mine), getattr(mst, f"{ch}id").eq(port_fields["id"][:p.id_width]),
                         getattr(mst, f"{ch}resp").eq(port_fields["resp"])]
            if ch == "r":
                m.d.comb += [mst.rdata.eq(port_fields["data"]), mst.rlast.eq(port_fields["last"])]
            fire = mine & getattr(mst, f"{ch}ready")
            last = port_fields["last"] if ch == "r" else Const(1, 1)
            m.d.comb += track[i].done.eq(fire & last)
        for j, port in enumerate(ports):
            owner = getattr(port, f"{ch}id")[top]
            ready = Array([getattr(mm, f"{ch}ready") for mm in masters] + [Const(0, 1)] * ((1 << p.index_bits) - p.masters))[owner]
            m.d.comb += getattr(port, f"{ch}ready").eq(ready)

    def _write_data(self, m, masters, ports, track, w_order):
        p = self.params
        d = p.w_fifo_depth
        for j, port in enumerate(ports):
            f = w_order[j]
            head_master = f.mem[f.head]
            nonempty = f.count != 0
            for field in ("data", "strb", "last"):
                m.d.comb += getattr(port, f"w{field}").eq(Array([getattr(mm, f"w{field}") for mm in masters])[head_master])
            mvalid = Array([mm.wvalid for mm in masters])[head_master]
            m.d.comb += port.wvalid.eq(nonempty & mvalid)
            m.d.comb += f.pop.eq(nonempty & mvalid & port.wready & Array([mm.wlast for mm in masters])[head_master])
            with m.If(f.push):
                m.d.sync += [f.mem[f.tail].eq(f.data), f.tail.eq(Mux(f.tail == d - 1, 0, f.tail + 1))]
            with m.If(f.pop):
                m.d.sync += f.head.eq(Mux(f.head == d - 1, 0, f.head + 1))
            with m.If(f.push & ~f.pop):
                m.d.sync += f.count.eq(f.count + 1)
            with m.Elif(~f.push & f.pop):
                m.d.sync += f.count.eq(f.count - 1)
        for i, mst in enumerate(masters):
            cur = track[i].port
            ready = Const(0, 1)
            for j, port in enumerate(ports):
                f = w_order[j]
                ready = ready | ((f.count != 0) & (f.mem[f.head] == i) & port.wready & (cur == j))
            m.d.comb += mst.wready.eq(ready & mst.wvalid)


@dataclass(frozen=True)
class _Outstanding:
    """One master's transactions in one direction: how many, on which port, and
    the pulse of a finished one (the last R beat, or the B response)."""

    count: Signal
    port: Signal
    done: Signal

    @classmethod
    def build(cls, p: InterconnectParams, kind: str, i: int) -> "_Outstanding":
        return cls(Signal(range(p.max_outstanding + 1), name=f"{kind}_out{i}"),
                   Signal(max(1, p.port_bits), name=f"{kind}_port{i}"),
                   Signal(name=f"{kind}_done{i}"))


@dataclass(frozen=True)
class _WOrderFifo:
    """Per port: the masters in the order the port granted their AW (W follows it)."""

    mem: Array
    head: Signal
    tail: Signal
    count: Signal
    push: Signal
    pop: Signal
    data: Signal
    depth: int

    @property
    def full(self):
        return self.count == self.depth

    @classmethod
    def build(cls, p: InterconnectParams, j: int) -> "_WOrderFifo":
        d = p.w_fifo_depth
        return cls(mem=Array([Signal(range(p.masters), name=f"wf{j}_{k}") for k in range(d)]),
                   head=Signal(range(d), name=f"wf{j}_head"), tail=Signal(range(d), name=f"wf{j}_tail"),
                   count=Signal(range(d + 1), name=f"wf{j}_count"),
                   push=Signal(name=f"wf{j}_push"), pop=Signal(name=f"wf{j}_pop"),
                   data=Signal(range(p.masters), name=f"wf{j}_in"), depth=d)
