"""AXI4-Lite register file: one 256-byte block per accelerator.

    block base = 0x100 * accelerator index
    0x00 CTRL       write 1 to bit 0: start the layer (ignored while busy)
    0x04 STATUS     bit 0 busy, bit 1 done, bits 15:8 error code (see node.py)
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

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from . import axi
from .node import NODE_COUNTERS, REGISTERS

CSR_ADDR_WIDTH = 16
REG_OFFSETS = {name: 0x08 + 4 * i for i, name in enumerate(REGISTERS)}
CTRL_OFFSET, STATUS_OFFSET = 0x00, 0x04
BLOCK_BYTES = 0x100
COUNTER_BASE = 0x40
INFO_OFFSET = 0xF0


class CSRFile(wiring.Component):
    def __init__(self, accelerators: int, rows: int, cols: int):
        self.accelerators, self.rows, self.cols = accelerators, rows, cols
        members = axi.ports("s_axil", axi.axil_channels(CSR_ADDR_WIDTH), master=False)
        for i in range(accelerators):
            members[f"a{i}_start"] = Out(1)
            members.update({f"a{i}_{r}": Out(32) for r in REGISTERS})
            members.update({f"a{i}_busy": In(1), f"a{i}_done": In(1), f"a{i}_error": In(8)})
            members.update({f"a{i}_cnt_{c}": In(32) for c in NODE_COUNTERS})
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        bus = axi.Bundle.of(self, "s_axil", axi.axil_channels(CSR_ADDR_WIDTH))
        n = self.accelerators

        def block_of(addr):
            return addr[8:CSR_ADDR_WIDTH]

        # ---- writes: take AW and W together, answer on B
        aw_addr = Signal(CSR_ADDR_WIDTH)
        have_aw, have_w, b_pending = Signal(), Signal(), Signal()
        w_data = Signal(32)
        b_resp = Signal(2)
        m.d.comb += [bus.awready.eq(~have_aw & ~b_pending), bus.wready.eq(~have_w & ~b_pending),
                     bus.bvalid.eq(b_pending), bus.bresp.eq(b_resp)]
        with m.If(bus.awvalid & bus.awready):
            m.d.sync += [aw_addr.eq(bus.awaddr), have_aw.eq(1)]
        with m.If(bus.wvalid & bus.wready):
            m.d.sync += [w_data.eq(bus.wdata), have_w.eq(1)]
        with m.If(bus.bvalid & bus.bready):
            m.d.sync += b_pending.eq(0)

        starts = [getattr(self, f"a{i}_start") for i in range(n)]
        for s in starts:
            m.d.sync += s.eq(0)
        do_write = have_aw & have_w & ~b_pending
        with m.If(do_write):
            m.d.sync += [have_aw.eq(0), have_w.eq(0), b_pending.eq(1)]
            offset = aw_addr[0:8]
            idx = block_of(aw_addr)
            with m.If(idx >= n):
                m.d.sync += b_resp.eq(axi.RESP_DECERR)
            with m.Elif(offset == 0x00):
                m.d.sync += b_resp.eq(axi.RESP_OKAY)
                for i in range(n):
                    with m.If((idx == i) & w_data[0] & ~getattr(self, f"a{i}_busy")):
                        m.d.sync += starts[i].eq(1)
            with m.Elif(Cat(*[offset == off for off in REG_OFFSETS.values()]).any()):
                m.d.sync += b_resp.eq(axi.RESP_OKAY)
                for i in range(n):
                    for name, off in REG_OFFSETS.items():
                        with m.If((idx == i) & (offset == off)):
                            m.d.sync += getattr(self, f"a{i}_{name}").eq(w_data)
            with m.Else():
                m.d.sync += b_resp.eq(axi.RESP_SLVERR)

        # ---- reads
        r_pending = Signal()
        r_data, r_resp = Signal(32), Signal(2)
        m.d.comb += [bus.arready.eq(~r_pending), bus.rvalid.eq(r_pending), bus.rdata.eq(r_data),
                     bus.rresp.eq(r_resp)]
        with m.If(bus.rvalid & bus.rready):
            m.d.sync += r_pending.eq(0)
        with m.If(bus.arvalid & bus.arready):
            m.d.sync += r_pending.eq(1)
            offset = bus.araddr[0:8]
            idx = block_of(bus.araddr)
            readable = {0x04: lambda i: Cat(getattr(self, f"a{i}_busy"), getattr(self, f"a{i}_done"),
                                            Const(0, 6), getattr(self, f"a{i}_error")),
                        INFO_OFFSET: lambda i: Const(self.rows | (self.cols << 16), 32),
                        0x00: lambda i: Const(0, 32)}
            for name, off in REG_OFFSETS.items():
                readable[off] = (lambda name: lambda i: getattr(self, f"a{i}_{name}"))(name)
            for k, name in enumerate(NODE_COUNTERS):
                readable[COUNTER_BASE + 4 * k] = (lambda name: lambda i: getattr(self, f"a{i}_cnt_{name}"))(name)
            with m.If(idx >= n):
                m.d.sync += [r_resp.eq(axi.RESP_DECERR), r_data.eq(0)]
            with m.Else():
                m.d.sync += [r_resp.eq(axi.RESP_SLVERR), r_data.eq(0)]
                for off, value in readable.items():
                    with m.If(offset == off):
                        m.d.sync += r_resp.eq(axi.RESP_OKAY)
                        for i in range(n):
                            with m.If(idx == i):
                                m.d.sync += r_data.eq(value(i))
        return m
