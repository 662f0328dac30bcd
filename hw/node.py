"""One accelerator of the SoC: array accelerator + DMA + layer sequencer.

See :mod:`hw.sequencer` for how a layer runs and :class:`NodeError` for the
error codes of a bad descriptor.
"""

from amaranth.hdl import Module
from amaranth.lib import enum, wiring
from amaranth.lib.wiring import In, Out

from .accelerator import Accelerator
from .config import AcceleratorParams
from .dma import DMA, DMAParams
from .sequencer import NodeError, Reg, Sequencer

__all__ = ["Node", "NodeControlSignature", "NodeCounter", "NodeError", "Reg", "NODE_COUNTERS", "REGISTERS"]


class NodeCounter(enum.IntEnum):
    """The node's counters, in CSR order (offset 0x40 + 4 * index)."""
    CYCLES = 0
    COMPUTE = 1
    WEIGHT_WAIT = 2
    STALL = 3
    DRAIN = 4
    WEIGHT_LOAD = 5
    DMA_STALL = 6
    BYTES_READ = 7
    BYTES_WRITTEN = 8
    ARRAY_CYCLES = 9


NODE_COUNTERS = tuple(c.name.lower() for c in NodeCounter)
REGISTERS = tuple(r.name.lower() for r in Reg)


class NodeControlSignature(wiring.Signature):
    """What the CSR file sees of one node: start, the layer registers, status and counters."""

    def __init__(self):
        super().__init__({
            "start": Out(1), "regs": Out(32).array(len(Reg)),
            "busy": In(1), "done": In(1), "error": In(NodeError),
            "counters": In(32).array(len(NodeCounter)),
        })

    def __eq__(self, other):
        return type(self) is type(other)

    def __hash__(self):
        return hash(type(self))


class Node(wiring.Component):
    def __init__(self, accel: AcceleratorParams, dma: DMAParams, *, row_factory=None):
        if not accel.weight_ring_tiles:
            raise ValueError("a SoC node streams its weights: weight_ring_tiles must be > 0")
        self.accel_params, self.dma_params = accel, dma
        self._row_factory = row_factory
        super().__init__({"ctrl": In(NodeControlSignature()), "m_axi": Out(dma.bus).array(dma.channels)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.accel = acc = Accelerator(self.accel_params, row_factory=self._row_factory)
        m.submodules.dma = dma = DMA(self.dma_params)
        m.submodules.sequencer = seq = Sequencer(self.accel_params, self.dma_params)
        wiring.connect(m, dma.sp_wr, acc.wr)
        wiring.connect(m, dma.sp_rd, acc.rd)
        wiring.connect(m, dma.ring, acc.ring)
        wiring.connect(m, seq.dma, dma.cmd)
        wiring.connect(m, seq.layer, acc.layer)
        for dma_port, port in zip(dma.m_axi, self.m_axi):
            wiring.connect(m, dma_port, wiring.flipped(port))
        ctrl = self.ctrl
        m.d.comb += [seq.start.eq(ctrl.start), *[r.eq(c) for r, c in zip(seq.regs, ctrl.regs)],
                     ctrl.busy.eq(seq.busy), ctrl.done.eq(seq.done), ctrl.error.eq(seq.error),
                     seq.dma_busy.eq(dma.busy), seq.dma_error.eq(dma.error)]
        counters = {
            NodeCounter.CYCLES: seq.cycles, NodeCounter.COMPUTE: acc.cycles.compute,
            NodeCounter.WEIGHT_WAIT: acc.cycles.weight_wait, NodeCounter.STALL: acc.cycles.stall,
            NodeCounter.DRAIN: acc.cycles.drain, NodeCounter.WEIGHT_LOAD: acc.cycles.weight_load,
            NodeCounter.DMA_STALL: dma.stall_cycles, NodeCounter.BYTES_READ: dma.bytes_read,
            NodeCounter.BYTES_WRITTEN: dma.bytes_written, NodeCounter.ARRAY_CYCLES: acc.cycles.total,
        }
        m.d.comb += [ctrl.counters[index].eq(value) for index, value in counters.items()]
        return m
