"""AXI4 / AXI4-Lite port bundles with the standard flat signal names.

Amaranth names the members of a nested signature ``m_axi__awaddr``; SoC
integrators and off-the-shelf bus models (cocotbext-axi) bind ``m_axi_awaddr``.
These helpers therefore declare flat ports with the standard names and group
them back into a small object for the Amaranth code.
"""

from amaranth.hdl import Signal
from amaranth.lib.wiring import In, Out

BURST_INCR = 1
RESP_OKAY, RESP_SLVERR, RESP_DECERR = 0, 2, 3


def axi4_channels(addr_w: int, data_w: int, id_w: int) -> dict:
    """name -> (width, driven_by_master)."""
    return {
        "awid": (id_w, True), "awaddr": (addr_w, True), "awlen": (8, True), "awsize": (3, True),
        "awburst": (2, True), "awvalid": (1, True), "awready": (1, False),
        "wdata": (data_w, True), "wstrb": (data_w // 8, True), "wlast": (1, True),
        "wvalid": (1, True), "wready": (1, False),
        "bid": (id_w, False), "bresp": (2, False), "bvalid": (1, False), "bready": (1, True),
        "arid": (id_w, True), "araddr": (addr_w, True), "arlen": (8, True), "arsize": (3, True),
        "arburst": (2, True), "arvalid": (1, True), "arready": (1, False),
        "rid": (id_w, False), "rdata": (data_w, False), "rresp": (2, False), "rlast": (1, False),
        "rvalid": (1, False), "rready": (1, True),
    }


def axil_channels(addr_w: int) -> dict:
    return {
        "awaddr": (addr_w, True), "awvalid": (1, True), "awready": (1, False),
        "wdata": (32, True), "wstrb": (4, True), "wvalid": (1, True), "wready": (1, False),
        "bresp": (2, False), "bvalid": (1, False), "bready": (1, True),
        "araddr": (addr_w, True), "arvalid": (1, True), "arready": (1, False),
        "rdata": (32, False), "rresp": (2, False), "rvalid": (1, False), "rready": (1, True),
    }


def ports(prefix: str, channels: dict, master: bool) -> dict:
    """Signature members for one bus port; ``master`` flips the directions."""
    return {f"{prefix}_{name}": (Out(width) if by_master == master else In(width))
            for name, (width, by_master) in channels.items()}


class Bundle:
    """Attribute access to a group of signals: ``bus.awvalid``."""

    def __init__(self, signals: dict):
        self.__dict__.update(signals)
        self._names = list(signals)

    @classmethod
    def of(cls, component, prefix: str, channels: dict):
        return cls({name: getattr(component, f"{prefix}_{name}") for name in channels})

    @classmethod
    def new(cls, prefix: str, channels: dict):
        return cls({name: Signal(width, name=f"{prefix}_{name}") for name, (width, _) in channels.items()})

    def names(self):
        return list(self._names)


def connect(m, master: Bundle, slave: Bundle, channels: dict):
    """Wire a master bundle to a slave bundle (same channel set)."""
    for name, (_, by_master) in channels.items():
        src, dst = (master, slave) if by_master else (slave, master)
        m.d.comb += getattr(dst, name).eq(getattr(src, name))
