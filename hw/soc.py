"""The SoC: N accelerators (array + DMA + sequencer) sharing memory ports.

Each accelerator's DMA has one read channel (AXI master) per memory port;
pages interleave over the ports, so channel c of every accelerator reads
port c, and one accelerator alone can draw on every port.  Writes go out on
channel 0, through the interconnect to whichever port holds the page.

Ports: AXI4 memory master(s) ``m_axi_*`` (one port) or ``m0_axi_*``,
``m1_axi_*``... (interleaved ports), the AXI4-Lite CSR slave ``s_axil_*``
and one level interrupt ``irq[i]`` per accelerator (its ``done``).
"""

from dataclasses import asdict, dataclass

from amaranth.hdl import Cat, Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .axi import AXI4LiteSignature, flat_port_name
from .config import AcceleratorParams, ArrayParams
from .csr import CSR_ADDR_WIDTH, CSRFile
from .dma import DMAParams
from .interconnect import Interconnect, InterconnectParams
from .node import Node


# The weight ring's default size in tiles.  It must hold every word in flight: a
# tile's words stay until its R rows have loaded (R x the adder latency cycles
# after its stream starts), plus the DRAM latency of the fetches behind it.
# With one port 3 tiles keep the port busy (the DMA fetches tile j+2 while j
# streams in and j+1 waits).  With several ports one accelerator receives up
# to a word a cycle, and on 32x32 the single-accelerator weight stream reaches
# 64 % / 84 % / 93 % of the array's bound (tiles x max(N, R)) with 3 / 4 / 6
# tiles (sim/golden/soc_perf.py, N = 1); 6 it is.
RING_TILES = {False: 3, True: 6}


@dataclass(frozen=True)
class SoCParams:
    accelerators: int = 3
    array: ArrayParams = ArrayParams()
    bus_width: int = 512
    mem_ports: int = 1
    ring_tiles: int = 0           # 0: RING_TILES[1 port] = 3, else 6 (see below)
    input_words: int = 4096
    acc_words: int = 4096
    bias_words: int = 256
    addr_width: int = 32
    id_width: int = 4
    max_reads: int = 4
    read_burst: int = 16          # beats of one DMA read burst (hw/dma.py)

    def __post_init__(self):
        if self.ring_tiles == 0:
            object.__setattr__(self, "ring_tiles", RING_TILES[self.mem_ports > 1])
        if not 1 <= self.accelerators <= 16:
            raise ValueError(f"accelerators must be from 1 to 16, got {self.accelerators}")
        if self.ring_tiles < 2:
            raise ValueError("ring_tiles must be >= 2 (double-buffered weights)")
        if not 1 <= self.read_burst <= 256:
            raise ValueError(f"read_burst must be from 1 to 256 beats, got {self.read_burst}")
        self.dma  # validates the bus width (and, with several ports, the words per page)
        self.interconnect

    @property
    def accel(self) -> AcceleratorParams:
        return AcceleratorParams(array=self.array, weight_words=self.ring_tiles * self.array.rows,
                                 input_words=self.input_words, acc_words=self.acc_words,
                                 bias_words=self.bias_words, weight_ring_tiles=self.ring_tiles)

    @property
    def dma(self) -> DMAParams:
        return DMAParams(rows=self.array.rows, cols=self.array.cols, data_width=self.bus_width,
                         addr_width=self.addr_width, id_width=self.id_width, max_reads=self.max_reads,
                         max_read_burst=self.read_burst,
                         ring_words=self.ring_tiles * self.array.rows, channels=self.mem_ports)

    @property
    def interconnect(self) -> InterconnectParams:
        return InterconnectParams(masters=self.accelerators * self.mem_ports, ports=self.mem_ports,
                                  addr_width=self.addr_width,
                                  data_width=self.bus_width, id_width=self.id_width)

    def mem_prefixes(self):
        return ["m_axi"] if self.mem_ports == 1 else [f"m{j}_axi" for j in range(self.mem_ports)]

    def as_dict(self):
        return asdict(self)


class SoC(wiring.Component):
    """Ports: ``irq``, the CSR slave ``s_axil`` and the memory port ``m_axi``
    (an array of them with several ports); :meth:`port_name` gives their flat
    Verilog names."""

    def __init__(self, params: SoCParams = SoCParams(), *, row_factory=None):
        self.params = params
        self._row_factory = row_factory
        port_bus = params.interconnect.port_bus
        super().__init__({
            "irq": Out(params.accelerators),
            "s_axil": In(AXI4LiteSignature(addr_width=CSR_ADDR_WIDTH)),
            "m_axi": Out(port_bus) if params.mem_ports == 1 else Out(port_bus).array(params.mem_ports),
        })

    def port_name(self, path: tuple) -> str:
        """``("m_axi", 1, "ar", "addr")`` -> ``m1_axi_araddr``; see :meth:`SoCParams.mem_prefixes`."""
        if path[0] == "m_axi" and self.params.mem_ports > 1:
            return flat_port_name((f"m{path[1]}_axi", *path[2:]))
        return flat_port_name(path)

    def elaborate(self, platform):
        m = Module()
        p = self.params
        m.submodules.csr = csr = CSRFile(p.accelerators, p.array.rows, p.array.cols)
        m.submodules.bus = bus = Interconnect(p.interconnect)
        wiring.connect(m, wiring.flipped(self.s_axil), csr.s_axil)
        for i in range(p.accelerators):
            node = Node(p.accel, p.dma, row_factory=self._row_factory)
            m.submodules[f"acc{i}"] = node
            for c, port in enumerate(node.m_axi):      # read channel c reads the pages of port c
                wiring.connect(m, port, bus.s[i * p.mem_ports + c])
            wiring.connect(m, csr.nodes[i], node.ctrl)
        m.d.comb += self.irq.eq(Cat(*[node_ctrl.done for node_ctrl in csr.nodes]))
        mem_ports = [self.m_axi] if p.mem_ports == 1 else list(self.m_axi)
        for port, bus_port in zip(mem_ports, bus.m):
            wiring.connect(m, bus_port, wiring.flipped(port))
        return m
