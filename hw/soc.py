"""The SoC: N accelerators (array + DMA + sequencer) sharing memory ports.

Ports: AXI4 memory master(s) ``m_axi_*`` (one port) or ``m0_axi_*``,
``m1_axi_*``... (interleaved ports), the AXI4-Lite CSR slave ``s_axil_*``
and one level interrupt ``irq[i]`` per accelerator (its ``done``).
"""

from dataclasses import asdict, dataclass, field

from amaranth.hdl import Cat, Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from . import axi
from .config import AcceleratorParams, ArrayParams
from .csr import CSR_ADDR_WIDTH, CSRFile
from .dma import DMAParams
from .interconnect import Interconnect, InterconnectParams
from .node import NODE_COUNTERS, REGISTERS, Node


@dataclass(frozen=True)
class SoCParams:
    accelerators: int = 3
    array: ArrayParams = ArrayParams()
    bus_width: int = 512
    mem_ports: int = 1
    ring_tiles: int = 3           # the DMA fetches tile j+2 while j streams in and j+1 waits
    input_words: int = 4096
    acc_words: int = 4096
    bias_words: int = 256
    addr_width: int = 32
    id_width: int = 4
    max_reads: int = 4

    def __post_init__(self):
        if not 1 <= self.accelerators <= 16:
            raise ValueError(f"accelerators must be from 1 to 16, got {self.accelerators}")
        if self.ring_tiles < 2:
            raise ValueError("ring_tiles must be >= 2 (double-buffered weights)")
        self.dma  # validates the bus width
        InterconnectParams(self.accelerators, self.mem_ports)

    @property
    def accel(self) -> AcceleratorParams:
        return AcceleratorParams(array=self.array, weight_words=self.ring_tiles * self.array.rows,
                                 input_words=self.input_words, acc_words=self.acc_words,
                                 bias_words=self.bias_words, weight_ring_tiles=self.ring_tiles)

    @property
    def dma(self) -> DMAParams:
        return DMAParams(rows=self.array.rows, cols=self.array.cols, data_width=self.bus_width,
                         addr_width=self.addr_width, id_width=self.id_width, max_reads=self.max_reads,
                         ring_words=self.ring_tiles * self.array.rows)

    @property
    def interconnect(self) -> InterconnectParams:
        return InterconnectParams(masters=self.accelerators, ports=self.mem_ports, addr_width=self.addr_width,
                                  data_width=self.bus_width, id_width=self.id_width)

    def mem_prefixes(self):
        return ["m_axi"] if self.mem_ports == 1 else [f"m{j}_axi" for j in range(self.mem_ports)]

    def as_dict(self):
        return asdict(self)


class SoC(wiring.Component):
    def __init__(self, params: SoCParams = SoCParams(), *, pe_factory=None):
        self.params = params
        self._pe_factory = pe_factory
        ic = params.interconnect
        members = {"irq": Out(params.accelerators)}
        members.update(axi.ports("s_axil", axi.axil_channels(CSR_ADDR_WIDTH), master=False))
        for prefix in params.mem_prefixes():
            members.update(axi.ports(prefix, axi.axi4_channels(ic.addr_width, ic.data_width, ic.port_id_width),
                                     master=True))
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        p = self.params
        ic = p.interconnect
        m.submodules.csr = csr = CSRFile(p.accelerators, p.array.rows, p.array.cols)
        m.submodules.bus = bus = Interconnect(ic)
        axi.connect(m, axi.Bundle.of(self, "s_axil", axi.axil_channels(CSR_ADDR_WIDTH)),
                    axi.Bundle.of(csr, "s_axil", axi.axil_channels(CSR_ADDR_WIDTH)),
                    axi.axil_channels(CSR_ADDR_WIDTH))
        mch = axi.axi4_channels(ic.addr_width, ic.data_width, ic.id_width)
        pch = axi.axi4_channels(ic.addr_width, ic.data_width, ic.port_id_width)
        irqs = []
        for i in range(p.accelerators):
            node = Node(p.accel, p.dma, pe_factory=self._pe_factory)
            m.submodules[f"acc{i}"] = node
            axi.connect(m, axi.Bundle.of(node, "m_axi", mch), axi.Bundle.of(bus, f"s{i}_axi", mch), mch)
            m.d.comb += [node.start.eq(getattr(csr, f"a{i}_start")),
                         getattr(csr, f"a{i}_busy").eq(node.busy), getattr(csr, f"a{i}_done").eq(node.done),
                         getattr(csr, f"a{i}_error").eq(node.error)]
            m.d.comb += [getattr(node, r).eq(getattr(csr, f"a{i}_{r}")) for r in REGISTERS]
            m.d.comb += [getattr(csr, f"a{i}_cnt_{c}").eq(getattr(node, f"cnt_{c}")) for c in NODE_COUNTERS]
            irqs.append(node.done)
        m.d.comb += self.irq.eq(Cat(*irqs))
        for j, prefix in enumerate(p.mem_prefixes()):
            axi.connect(m, axi.Bundle.of(bus, f"m{j}_axi", pch), axi.Bundle.of(self, prefix, pch), pch)
        return m
