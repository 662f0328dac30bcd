"""A component placed as an ``Instance`` of a separately converted module."""

from amaranth.hdl import ClockSignal, Instance, Module, ResetSignal
from amaranth.lib import wiring


class ModuleInstance(wiring.Component):
    """A black box with ``signature``'s ports, instantiating module ``module_name``.

    Amaranth writes one Verilog module per component instance; for a 32x32
    array that is a thousand copies of two FP units.  The generator converts
    a block (the PE, the PE row) once under ``module_name`` and places it with
    this wrapper, so the Verilog grows with the array only by the wiring.
    Ports are named ``i_<member>`` / ``o_<member>`` after the signature, plus
    ``i_clk`` and ``i_rst``, as Amaranth names a converted module's ports.
    """

    def __init__(self, signature: wiring.Signature, module_name: str):
        self.module_name = module_name
        super().__init__(signature)

    def elaborate(self, platform):
        m = Module()
        ports = {"i_clk": ClockSignal(), "i_rst": ResetSignal()}
        for name, member in self.signature.members.items():
            ports[("i_" if member.flow == wiring.In else "o_") + name] = getattr(self, name)
        m.submodules.block = Instance(self.module_name, **ports)
        return m
