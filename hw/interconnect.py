"""AXI4 interconnect: N masters share M memory ports (the paper's shared bus).

* Each port grants its address channels round-robin among the masters that
  request it; a grant is held while the port stalls (AXI payloads must not
  change under VALID) and the pointer moves past the winner after each
  handshake, so no master waits more than N-1 transfers.
* With M > 1 ports addresses are interleaved by 4 KiB page: page p lives on
  port p % M at local page p // M (M = 3 included: the division by a
  constant is a few adders).  Bursts never cross a 4 KiB boundary, so a
  burst stays on one port.
* Ordering: a master may have outstanding reads (writes) to one port at a
  time; it waits for them to drain before it addresses another (the
  "single slave per ID" rule of common crossbars), so responses for one ID
  always return in order.  An accelerator keeps bursts in flight on several
  ports through several masters: its DMA has one read channel per port
  (hw/dma.py), each reading only that port's pages.
* IDs towards the ports carry the master index in their top bits; R and B
  are routed back by it.  W data follows the order in which the port
  granted AW, kept in a small FIFO per port.
"""

from dataclasses import dataclass

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.wiring import In, Out

from .axi import AXI4Signature

PAGE_BITS = 12
PORT_COUNTS = (1, 2, 3, 4, 8)
MAX_MASTERS = 32


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
        if not 1 <= self.masters <= MAX_MASTERS:
            raise ValueError(f"the interconnect takes 1 to {MAX_MASTERS} masters (accelerators x memory ports), "
                             f"got {self.masters}")
        if self.ports not in PORT_COUNTS:
            raise ValueError(f"memory ports must be 1, 2, 3, 4 or 8, got {self.ports}")

    @property
    def index_bits(self) -> int:
        return max(1, (self.masters - 1).bit_length())

    @property
    def port_id_width(self) -> int:
        return self.id_width + self.index_bits

    @property
    def port_bits(self) -> int:
        return (self.ports - 1).bit_length()

    @property
    def master_bus(self) -> AXI4Signature:
        return AXI4Signature(addr_width=self.addr_width, data_width=self.data_width, id_width=self.id_width)

    @property
    def port_bus(self) -> AXI4Signature:
        return AXI4Signature(addr_width=self.addr_width, data_width=self.data_width, id_width=self.port_id_width)


class Interconnect(wiring.Component):
    """``s[i]``: the masters' ports (subordinate side); ``m[j]``: the memory ports."""

    def __init__(self, params: InterconnectParams):
        self.params = params
        super().__init__({"s": In(params.master_bus).array(params.masters),
                          "m": Out(params.port_bus).array(params.ports)})

    def elaborate(self, platform):
        m = Module()
        p = self.params
        # per master and direction: the outstanding transactions and their port;
        # per port: the masters in the order it granted their AW (W follows it)
        track = {kind: [_Outstanding.build(p, kind, i) for i in range(p.masters)] for kind in ("rd", "wr")}
        w_order = []
        for j in range(p.ports):
            fifo = SyncFIFO(width=p.index_bits, depth=p.w_fifo_depth)
            m.submodules[f"w_order{j}"] = fifo
            w_order.append(fifo)
        self._address_channel(m, "ar", [s.ar for s in self.s], [q.ar for q in self.m], track["rd"], None)
        self._address_channel(m, "aw", [s.aw for s in self.s], [q.aw for q in self.m], track["wr"], w_order)
        self._responses(m, [s.r for s in self.s], [q.r for q in self.m], track["rd"], has_last=True)
        self._responses(m, [s.b for s in self.s], [q.b for q in self.m], track["wr"], has_last=False)
        self._write_data(m, track["wr"], w_order)
        return m

    def _port_of(self, addr):
        p = self.params
        if p.ports == 1:
            return Const(0, 1)
        if p.ports & (p.ports - 1):
            return addr[PAGE_BITS:] % p.ports
        return addr[PAGE_BITS:PAGE_BITS + p.port_bits]

    def _local(self, addr):
        """The address within its port: page // M, the offset in the page kept."""
        p = self.params
        if p.ports == 1:
            return addr
        page = addr[PAGE_BITS:] // p.ports if p.ports & (p.ports - 1) else addr[PAGE_BITS + p.port_bits:]
        return Cat(addr[:PAGE_BITS], page)[:p.addr_width]

    def _address_channel(self, m, ch, masters, ports, track, w_order):
        """Round-robin grant per port; the grant is held while the port stalls."""
        p = self.params
        grants = []
        for j, port in enumerate(ports):
            requests = []
            for i, mst in enumerate(masters):
                out, cur = track[i].count, track[i].port
                allowed = (out == 0) | ((cur == j) & (out < p.max_outstanding))
                if w_order is not None:
                    allowed = allowed & w_order[j].w_rdy
                requests.append(mst.valid & (self._port_of(mst.addr) == j) & allowed)
            pick, fire = self._arbiter(m, f"{ch}{j}", Cat(*requests), port)
            for name in port.signature.payload:
                src = Array([getattr(mst, name) for mst in masters])[pick]
                if name == "id":
                    src = Cat(src, pick)
                elif name == "addr":
                    src = self._local(src)
                m.d.comb += getattr(port, name).eq(src)
            grants.append((pick, fire))
            if w_order is not None:
                m.d.comb += [w_order[j].w_en.eq(fire), w_order[j].w_data.eq(pick)]
        # ready back to the masters (only the port that granted one answers), outstanding counts
        for i, mst in enumerate(masters):
            fired = Const(0, 1)
            fired_port = Const(0, max(1, p.port_bits))
            for j, (pick, fire) in enumerate(grants):
                hit = fire & (pick == i)
                fired = fired | hit
                fired_port = Mux(hit, j, fired_port)
            m.d.comb += mst.ready.eq(fired)
            out, cur, done = track[i].count, track[i].port, track[i].done
            with m.If(fired):
                m.d.sync += cur.eq(fired_port)
            with m.If(fired & ~done):
                m.d.sync += out.eq(out + 1)
            with m.Elif(~fired & done):
                m.d.sync += out.eq(out - 1)

    def _arbiter(self, m, name, req, port):
        """First requester at or after the pointer; the pointer moves past the winner."""
        N = self.params.masters
        pointer = Signal(range(N), name=f"{name}_rr")
        locked = Signal(name=f"{name}_locked")
        held = Signal(range(N), name=f"{name}_held")
        pick = Signal(range(N), name=f"{name}_pick")
        chosen = Signal(range(N), name=f"{name}_chosen")
        expr = Const(0, range(N))
        for offset in reversed(range(N)):
            idx = Signal(range(N), name=f"{name}_cand{offset}")
            m.d.comb += idx.eq(Mux(pointer + offset >= N, pointer + offset - N, pointer + offset))
            expr = Mux(req.bit_select(idx, 1), idx, expr)
        m.d.comb += [chosen.eq(expr), pick.eq(Mux(locked, held, chosen))]
        valid = Mux(locked, 1, req.any())
        m.d.comb += port.valid.eq(valid)
        fire = valid & port.ready
        with m.If(fire):
            m.d.sync += [locked.eq(0), pointer.eq(Mux(pick == N - 1, 0, pick + 1))]
        with m.Elif(valid & ~locked):
            m.d.sync += [locked.eq(1), held.eq(pick)]
        return pick, fire

    def _responses(self, m, masters, ports, track, has_last):
        """R or B back to the master named by the ID's top bits, from the port it last addressed."""
        p = self.params
        top = slice(p.id_width, p.id_width + p.index_bits)
        for i, mst in enumerate(masters):
            cur = track[i].port
            fields = {name: Array([getattr(q, name) for q in ports])[cur] for name in mst.signature.payload}
            port_valid = Array([q.valid for q in ports])[cur]
            mine = port_valid & (fields["id"][top] == i)
            m.d.comb += [mst.valid.eq(mine), mst.id.eq(fields["id"][:p.id_width])]
            m.d.comb += [getattr(mst, name).eq(value) for name, value in fields.items() if name != "id"]
            fire = mine & mst.ready
            m.d.comb += track[i].done.eq(fire & (fields["last"] if has_last else 1))
        spare = [Const(0, 1)] * ((1 << p.index_bits) - p.masters)
        for q in ports:
            m.d.comb += q.ready.eq(Array([mst.ready for mst in masters] + spare)[q.id[top]])

    def _write_data(self, m, track, w_order):
        """W beats follow each port's AW order; a master's W goes only to the port it addressed."""
        masters = [s.w for s in self.s]
        for j, port in enumerate(self.m):
            fifo = w_order[j]
            head = fifo.r_data
            for name in port.w.signature.payload:
                m.d.comb += getattr(port.w, name).eq(Array([getattr(mst, name) for mst in masters])[head])
            head_valid = Array([mst.valid for mst in masters])[head]
            m.d.comb += [port.w.valid.eq(fifo.r_rdy & head_valid),
                         fifo.r_en.eq(fifo.r_rdy & head_valid & port.w.ready
                                      & Array([mst.last for mst in masters])[head])]
        for i, mst in enumerate(masters):
            cur = track[i].port
            ready = Const(0, 1)
            for j, port in enumerate(self.m):
                fifo = w_order[j]
                ready = ready | (fifo.r_rdy & (fifo.r_data == i) & port.w.ready & (cur == j))
            m.d.comb += mst.ready.eq(ready & mst.valid)


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
