"""Map toggles to hardware components and to register vs wire bits.

A :class:`ClassMap` is an ordered list of rules; the first whose glob matches
the module name (or, for ``on="signal"`` rules, ``module:signal``) gives the
component.  The default map knows the generator's names:

==============  ==============================================  ==========
component       matches                                          charged
==============  ==============================================  ==========
fp_units        fp32_mul, fp32_add, <pe>.mul, <pe>.add           per FP op
pe              <name>_pe (weight/shadow/activation registers)   per toggle
array           <name>.array and its per-PE wrappers (skew)      per toggle
scratchpad      memory ports and read registers in the top       per toggle
dma, bus, csr   *dma*, *axi* / *bus* / *interconnect*, *csr*     per toggle
control         everything else in the DUT (controller, counters) per toggle
==============  ==============================================  ==========

Toggles inside the FP units are reported but not charged per toggle: the
FP figure per operation (scaled by operand activity) already covers them.
Each net is counted once: a net tied whole to an instance port is counted
inside the child; clocks are left out (clock energy is charged per
flip-flop per cycle) and so are memory arrays (charged per access).
"""

import json
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path

from .activity import CoverageFileError

FP_OPS = ("fp32_mul", "fp32_add")
# fp32 op of the FP modules, by module-name glob, and their operand ports
FP_MODULES = (("fp32_mul", "fp32_mul"), ("*.mul", "fp32_mul"), ("fp32_add", "fp32_add"), ("*.add", "fp32_add"))
OPERAND_PORTS = ("a", "b")


@dataclass(frozen=True)
class Rule:
    pattern: str
    component: str
    on: str = "module"          # "module" or "signal" (matched against "module:signal")


DEFAULT_RULES = (
    Rule("fp32_mul", "fp_units"), Rule("fp32_add", "fp_units"),
    Rule("*_pe.mul", "fp_units"), Rule("*_pe.add", "fp_units"),
    Rule("*_pe", "pe"), Rule("*_pe_row", "pe"),
    Rule("*.array", "array"), Rule("*.array.*", "array"),
    Rule("*dma*", "dma"),
    Rule("*axi*", "bus"), Rule("*bus*", "bus"), Rule("*interconnect*", "bus"), Rule("*arbiter*", "bus"),
    Rule("*csr*", "csr"),
    # scratchpad ports and read registers inside the accelerator top
    Rule("*:?mem*", "scratchpad", on="signal"), Rule("*:?_read__*", "scratchpad", on="signal"),
    Rule("*:?_write__*", "scratchpad", on="signal"), Rule("*:host_read*", "scratchpad", on="signal"),
    Rule("*:_[0-9]*_", "scratchpad", on="signal"),
)
UNCHARGED = frozenset({"fp_units"})


@dataclass(frozen=True)
class ClassMap:
    rules: tuple = DEFAULT_RULES
    default: str = "control"
    uncharged: frozenset = UNCHARGED
    clocks: tuple = ("clk", "clock", "*_clk")

    def component(self, module: str, signal: str | None = None) -> str:
        for rule in self.rules:
            if rule.on == "signal":
                if signal is not None and fnmatchcase(f"{module}:{signal}", rule.pattern):
                    return rule.component
            elif fnmatchcase(module, rule.pattern):
                return rule.component
        return self.default

    def is_clock(self, signal: str) -> bool:
        return any(fnmatchcase(signal, p) for p in self.clocks)

    @classmethod
    def from_json(cls, path) -> "ClassMap":
        """``{"rules": [{"pattern", "component", "on"?}], "default"?, "uncharged"?, "clocks"?}``."""
        path = Path(path)
        try:
            data = json.loads(path.read_text())
            rules = tuple(Rule(r["pattern"], r["component"], r.get("on", "module")) for r in data["rules"])
        except FileNotFoundError:
            raise CoverageFileError(f"{path}: class-map file not found") from None
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise CoverageFileError(f"{path}: malformed class map ({exc!r}); need "
                                    f"{{\"rules\": [{{\"pattern\": ..., \"component\": ...}}]}}") from None
        return cls(rules, data.get("default", "control"), frozenset(data.get("uncharged", UNCHARGED)),
                   tuple(data.get("clocks", cls.clocks)))


def fp_op_of(module: str) -> str | None:
    for pattern, op in FP_MODULES:
        if fnmatchcase(module, pattern):
            return op
    return None


@dataclass
class ToggleSummary:
    """Toggles of one run, per component and kind, plus what the energy model derives from them."""

    by_component: dict = field(default_factory=dict)     # component -> {"reg": n, "wire": n}
    fp_operand_toggles: dict = field(default_factory=dict)   # fp op -> operand-port bit toggles
    clock_cycles: int | None = None                      # rising edges of the root clock
    excluded: dict = field(default_factory=dict)         # reason -> toggles not charged
    unknown_signals: list = field(default_factory=list)  # (module, signal) not found in the netlist

    def add(self, component: str, kind: str, toggles: int):
        slot = self.by_component.setdefault(component, {"reg": 0, "wire": 0})
        slot[kind] += toggles

    def total(self, kind: str | None = None) -> int:
        return sum(v for c in self.by_component.values() for k, v in c.items() if kind in (None, k))

    def as_dict(self) -> dict:
        return {"by_component": self.by_component, "fp_operand_toggles": self.fp_operand_toggles,
                "clock_cycles": self.clock_cycles, "excluded": self.excluded}


def _inside(module: str, scopes) -> bool:
    """Whether instance path ``module`` is one of ``scopes`` or below one."""
    return any(module == o or module.startswith(o + ".") for o in scopes)


def _opaque_child(design, module: str, net: str, opaque) -> tuple | None:
    """(child module, child port) when ``net`` of ``module`` is tied to a port of an opaque child."""
    link = design.modules[module].port_links.get(net)
    if link is None:
        return None
    child = link[0]
    return link if _inside(child, opaque) else None


def summarize(signals, design, class_map: ClassMap = ClassMap(), *, opaque=()) -> ToggleSummary:
    """Sort per-signal toggles (from either reader) into components for the energy model.

    ``design`` (:class:`sim.power.netlist.Design`) supplies the module of each
    hierarchy path (VCD has none), the flip-flops, ports, memories and
    port-tied nets.  Signals outside ``design.root`` (the testbench) are
    left out.

    ``opaque``: modules captured without coverage inside (Verilator's
    hierarchical blocks, whose toggle counters are unusable): their own
    signals are left out, and the parent's nets tied to their ports are
    counted in the parent under the child's component, as registers when the
    child's port is a flip-flop (a PE's weight and activation registers).
    """
    summary = ToggleSummary()
    module_at = design.module_at()
    root = design.root

    def excl(reason, n):
        summary.excluded[reason] = summary.excluded.get(reason, 0) + n

    for s in signals:
        inside = s.hier == root or s.hier.startswith(root + ".")
        module = s.module
        if not inside:
            if module is None or module not in design.modules:
                excl("outside the design (testbench)", s.toggles)
                continue
        if module is None:
            module = module_at.get(s.hier)
            if module is None:
                excl("unknown hierarchy", s.toggles)
                continue
        info = design.modules.get(module)
        if info is None:
            excl("outside the design (testbench)", s.toggles)
            continue
        if _inside(module, opaque):
            excl("inside a hierarchical block (not captured)", s.toggles)
            continue
        signal = s.signal
        if class_map.is_clock(signal):
            if module == design.top and s.rises is not None:
                summary.clock_cycles = s.rises
            elif module == design.top:
                summary.clock_cycles = s.toggles // 2
            excl("clock (charged per flip-flop per cycle)", s.toggles)
            continue
        if signal.split("[", 1)[0] in info.memories:      # Verilator covers arrays per element: mem[3]
            excl("memory array (charged per access)", s.toggles)
            continue
        op = fp_op_of(module)
        if op is not None and signal in OPERAND_PORTS and info.ports.get(signal) == "input":
            summary.fp_operand_toggles[op] = summary.fp_operand_toggles.get(op, 0) + s.toggles
        if signal in info.port_nets:
            link = _opaque_child(design, module, signal, opaque) if opaque else None
            if link is None:
                excl("net tied to an instance port (counted in the child)", s.toggles)
                continue
            child, port = link
            kind = "reg" if port in design.modules[child].flops else "wire"
            summary.add(class_map.component(child, port), kind, s.toggles)
            continue
        if signal not in info.widths and signal not in info.ports:
            summary.unknown_signals.append((module, signal))
        kind = "reg" if signal in info.flops else "wire"
        summary.add(class_map.component(module, signal), kind, s.toggles)
    return summary


def flop_inventory(design, class_map: ClassMap = ClassMap()) -> dict:
    """Flip-flop bits per component, FP units counted per op kind, and SRAM bytes."""
    flops = {}
    fp_units = {op: 0 for op in FP_OPS}
    for _, module in design.instances():
        info = design.modules[module]
        comp = class_map.component(module)
        flops[comp] = flops.get(comp, 0) + info.flop_bits
        op = fp_op_of(module)
        if op is not None:
            fp_units[op] += 1
    sram_bytes = sum(w * d for _, _, w, d in design.memories()) / 8
    return {"flop_bits": flops, "fp_units": fp_units, "sram_bytes": sram_bytes}
