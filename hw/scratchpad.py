"""The interfaces between an accelerator's scratchpads and the DMA that fills them.

Each signature is declared from the DMA's side (the DMA writes words, reads
results and reports ring arrivals); the accelerator takes them ``In``.
"""

from amaranth.lib import enum, wiring
from amaranth.lib.wiring import In, Out

ADDR_BITS = 24          # scratchpad word addresses, and words per DMA command


class Mem(enum.Enum, shape=2):
    """Which scratchpad a DMA write targets."""
    WEIGHTS = 0
    INPUTS = 1
    BIAS = 2


class ScratchpadWriteSignature(wiring.Signature):
    """One whole word per cycle into the scratchpad ``mem`` at ``addr``."""

    def __init__(self, data_width: int):
        self.data_width = data_width
        super().__init__({"en": Out(1), "mem": Out(Mem), "addr": Out(ADDR_BITS), "data": Out(data_width)})

    def __eq__(self, other):
        return type(self) is type(other) and self.data_width == other.data_width

    def __hash__(self):
        return hash((type(self), self.data_width))


class ScratchpadReadSignature(wiring.Signature):
    """The accumulator scratchpad's result port: ``data`` is the word at ``addr``
    one cycle after ``en``.  ``ready`` counts the words from address 0 that
    hold final results, so that a write-back may start while the array still
    computes the layer's last K-tile (all of them once the array is idle)."""

    def __init__(self, data_width: int):
        self.data_width = data_width
        super().__init__({"en": Out(1), "addr": Out(ADDR_BITS), "data": In(data_width), "ready": In(ADDR_BITS)})

    def __eq__(self, other):
        return type(self) is type(other) and self.data_width == other.data_width

    def __hash__(self):
        return hash((type(self), self.data_width))


class RingSignature(wiring.Signature):
    """Weight-ring flow control: words the DMA has written, words the array has read."""

    def __init__(self):
        super().__init__({"arrived": Out(32), "consumed": In(32)})

    def __eq__(self, other):
        return type(self) is type(other)

    def __hash__(self):
        return hash(type(self))
