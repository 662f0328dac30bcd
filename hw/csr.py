"""AXI4-Lite register file: one 256-byte block per accelerator.

    block base = 0x100 * accelerator index
    0x00 CTRL       write 1 to bit 0: start the layer (ignored while busy)
    0x04 STATUS     bit 0 busy, bit 1 done, bits 15:8 error code (hw.sequencer.NodeError)
    0x08 M   0x0C K   0x10 N   0x14 FLAGS (bit 0 bias, bit 1 ReLU)
    0x18 W_ADDR   0x1C X_ADDR   0x20 B_ADDR   0x24 Y_ADDR
    0x28 WIN_BASE 0x2C WIN_LIMIT   (the DRAM window the accelerator may touch)
           0x08..0x2C are latched by the accelerator at start: writing them
           while it runs programs the next layer, never the running one
    0x40.. counters, read-only, in NODE_COUNTERS order (cycles, compute,
           weight_wait, stall, drain, weight_load, dma_stall, bytes_read,
           bytes_written, array_cycles)
    0xF0 INFO       read-only: rows in bits 15:0, cols in bits 31:16

Unmapped offsets inside a block answer SLVERR; addresses beyond the last
block answer DECERR.  Accesses are single-beat, one at a time.
"""

from amaranth.hdl import Cat, Const, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .axi import AXI4LiteSignature, Resp
from .node import NODE_COUNTERS, REGISTERS, NodeControlSignature

CSR_ADDR_WIDTH = 16
REG_OFFSETS = {name: 0x08 + 4 * i for i, name in enumerate(REGISTERS)}
CTRL_OFFSET, STATUS_OFFSET = 0x00, 0x04
BLOCK_BYTES = 0x100
COUNTER_BASE = 0x40
COUNTER_OFFSETS = {name: COUNTER_BASE + 4 * i for i, name in enumerate(NODE_COUNTERS)}
INFO_OFFSET = 0xF0


class CSRFile(wiring.Component):
    def __init__(self, accelerators: int, rows: int, cols: int):
        self.accelerators, self.rows, self.cols = accelerators, rows, cols
        super().__init__({"s_axil": In(AXI4LiteSignature(addr_width=CSR_ADDR_WIDTH)),
                          "nodes": Out(NodeControlSignature()).array(accelerators)})

    def elaborate(self, platform):
        m = Module()
        for node in self.nodes:
            m.d.sync += node.start.eq(0)
        self._writes(m)
        self._reads(m)
        return m

    def _writes(self, m):
        """Take AW and W together, answer on B."""
        aw, w, b = self.s_axil.aw, self.s_axil.w, self.s_axil.b
        aw_addr = Signal(CSR_ADDR_WIDTH)
        have_aw, have_w, b_pending = Signal(), Signal(), Signal()
        w_data = Signal(32)
        b_resp = Signal(Resp)
        m.d.comb += [aw.ready.eq(~have_aw & ~b_pending), w.ready.eq(~have_w & ~b_pending),
                     b.valid.eq(b_pending), b.resp.eq(b_resp)]
        with m.If(aw.valid & aw.ready):
            m.d.sync += [aw_addr.eq(aw.addr), have_aw.eq(1)]
        with m.If(w.valid & w.ready):
            m.d.sync += [w_data.eq(w.data), have_w.eq(1)]
        with m.If(b.valid & b.ready):
            m.d.sync += b_pending.eq(0)

        with m.If(have_aw & have_w & ~b_pending):
            m.d.sync += [have_aw.eq(0), have_w.eq(0), b_pending.eq(1)]
            offset, idx = aw_addr[0:8], aw_addr[8:CSR_ADDR_WIDTH]
            with m.If(idx >= self.accelerators):
                m.d.sync += b_resp.eq(Resp.DECERR)
            with m.Elif(offset == CTRL_OFFSET):
                m.d.sync += b_resp.eq(Resp.OKAY)
                for i, node in enumerate(self.nodes):
                    with m.If((idx == i) & w_data[0] & ~node.busy):
                        m.d.sync += node.start.eq(1)
            with m.Elif(Cat(*[offset == off for off in REG_OFFSETS.values()]).any()):
                m.d.sync += b_resp.eq(Resp.OKAY)
                for i, node in enumerate(self.nodes):
                    for reg, off in zip(node.regs, REG_OFFSETS.values()):
                        with m.If((idx == i) & (offset == off)):
                            m.d.sync += reg.eq(w_data)
            with m.Else():
                m.d.sync += b_resp.eq(Resp.SLVERR)

    def _reads(self, m):
        """One read at a time; the data is registered."""
        ar, r = self.s_axil.ar, self.s_axil.r
        r_pending = Signal()
        r_data, r_resp = Signal(32), Signal(Resp)
        m.d.comb += [ar.ready.eq(~r_pending), r.valid.eq(r_pending), r.data.eq(r_data), r.resp.eq(r_resp)]
        with m.If(r.valid & r.ready):
            m.d.sync += r_pending.eq(0)
        with m.If(ar.valid & ar.ready):
            m.d.sync += r_pending.eq(1)
            offset, idx = ar.addr[0:8], ar.addr[8:CSR_ADDR_WIDTH]
            with m.If(idx >= self.accelerators):
                m.d.sync += [r_resp.eq(Resp.DECERR), r_data.eq(0)]
            with m.Else():
                m.d.sync += [r_resp.eq(Resp.SLVERR), r_data.eq(0)]
                for off, value in self._readable().items():
                    with m.If(offset == off):
                        m.d.sync += r_resp.eq(Resp.OKAY)
                        for i in range(self.accelerators):
                            with m.If(idx == i):
                                m.d.sync += r_data.eq(value(self.nodes[i]))

    def _readable(self) -> dict:
        """offset -> the value a node's block answers there."""
        readable = {STATUS_OFFSET: lambda node: Cat(node.busy, node.done, Const(0, 6), node.error.as_value()),
                    INFO_OFFSET: lambda node: Const(self.rows | (self.cols << 16), 32),
                    CTRL_OFFSET: lambda node: Const(0, 32)}
        for k, off in enumerate(REG_OFFSETS.values()):
            readable[off] = lambda node, k=k: node.regs[k]
        for k, off in enumerate(COUNTER_OFFSETS.values()):
            readable[off] = lambda node, k=k: node.counters[k]
        return readable
