"""AXI4 and AXI4-Lite as ``amaranth.lib.wiring`` signatures.

Each bus is a signature of its five channels (``aw``, ``w``, ``b``, ``ar``,
``r``), and each channel a signature of its payload fields plus ``valid`` and
``ready``, declared from the sender's side: the manager's signature has
``aw: Out(...)`` and ``b: In(...)``.  ``wiring.connect`` therefore checks
every field's width and direction when a DMA is wired to an interconnect.

Off-the-shelf bus models (cocotbext-axi) and SoC integrators bind the
standard flat names ``m_axi_awaddr``; :func:`flat_port_name` turns a
signature path such as ``("m_axi", "aw", "addr")`` into that name when a
design is converted (see :mod:`hw.netlist`).
"""

from amaranth.lib import enum, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["Burst", "Resp", "AXI4Signature", "AXI4LiteSignature", "flat_port_name"]


class Burst(enum.Enum, shape=2):
    FIXED = 0
    INCR = 1
    WRAP = 2


class Resp(enum.Enum, shape=2):
    OKAY = 0
    EXOKAY = 1
    SLVERR = 2
    DECERR = 3


class _Channel(wiring.Signature):
    """One valid/ready channel, from the side that sends its payload."""

    def __init__(self, payload: dict):
        self.payload = dict(payload)
        super().__init__({**{name: Out(width) for name, width in payload.items()},
                          "valid": Out(1), "ready": In(1)})

    def __eq__(self, other):
        return type(self) is type(other) and self.payload == other.payload

    def __hash__(self):
        return hash((type(self), tuple(self.payload.items())))

    def __repr__(self):
        return f"{type(self).__name__}({self.payload})"


class AXI4Signature(wiring.Signature):
    """An AXI4 manager port (INCR bursts, IDs, no locks, caches, QoS or regions)."""

    def __init__(self, *, addr_width: int, data_width: int, id_width: int):
        if data_width not in (8, 16, 32, 64, 128, 256, 512, 1024):
            raise ValueError(f"AXI4 data width must be a power of two from 8 to 1024, got {data_width}")
        self.addr_width, self.data_width, self.id_width = addr_width, data_width, id_width
        address = {"id": id_width, "addr": addr_width, "len": 8, "size": 3, "burst": 2}
        super().__init__({
            "aw": Out(_Channel(address)),
            "w": Out(_Channel({"data": data_width, "strb": data_width // 8, "last": 1})),
            "b": In(_Channel({"id": id_width, "resp": 2})),
            "ar": Out(_Channel(address)),
            "r": In(_Channel({"id": id_width, "data": data_width, "resp": 2, "last": 1})),
        })

    def __eq__(self, other):
        return type(self) is type(other) and self._widths == other._widths

    def __hash__(self):
        return hash((type(self), self._widths))

    @property
    def _widths(self):
        return (self.addr_width, self.data_width, self.id_width)

    def __repr__(self):
        return (f"AXI4Signature(addr_width={self.addr_width}, data_width={self.data_width}, "
                f"id_width={self.id_width})")


class AXI4LiteSignature(wiring.Signature):
    """An AXI4-Lite manager port with a 32-bit data bus (no PROT)."""

    def __init__(self, *, addr_width: int):
        self.addr_width = addr_width
        super().__init__({
            "aw": Out(_Channel({"addr": addr_width})),
            "w": Out(_Channel({"data": 32, "strb": 4})),
            "b": In(_Channel({"resp": 2})),
            "ar": Out(_Channel({"addr": addr_width})),
            "r": In(_Channel({"data": 32, "resp": 2})),
        })

    def __eq__(self, other):
        return type(self) is type(other) and self.addr_width == other.addr_width

    def __hash__(self):
        return hash((type(self), self.addr_width))

    def __repr__(self):
        return f"AXI4LiteSignature(addr_width={self.addr_width})"


def flat_port_name(path: tuple) -> str:
    """``("m_axi", "aw", "addr")`` -> ``m_axi_awaddr``; other paths join with ``_``.

    A bus member's channel and field names are joined without a separator,
    as the AXI specification spells them.
    """
    parts = [str(p) for p in path]
    if len(parts) >= 3 and parts[-2] in ("aw", "w", "b", "ar", "r"):
        return "_".join(parts[:-2] + [parts[-2] + parts[-1]])
    return "_".join(parts)


class AXI4ReadSignature(wiring.Signature):
    """The read half of an AXI4 master, AR and R: a DMA read channel."""

    def __init__(self, bus: AXI4Signature):
        self.bus = bus
        super().__init__({"ar": bus.members["ar"], "r": bus.members["r"]})

    def __eq__(self, other):
        return type(self) is type(other) and self.bus == other.bus

    def __hash__(self):
        return hash((type(self), self.bus))
