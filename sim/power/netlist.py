"""What the energy model needs to know about the generated Verilog.

:func:`scan_verilog` reads the Verilog that Amaranth (through Yosys) writes
and returns, per module: its ports, its flip-flops (every signal assigned
with ``<=`` inside ``always @(posedge ...)``), its memories (unpacked
``reg`` arrays: scratchpads, charged per access, not per toggle), its
instances, and which of its nets are tied whole to an instance port (so a
net crossing a module boundary is counted once, inside the child).  It is a
scanner for that regular, machine-written style, not a Verilog parser.

:class:`Design` walks the instance tree from a top module: flip-flop bits
and memory sizes per instance, and the module of every hierarchy path.
"""

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

_IDENT = r"(?:\\\S+|[A-Za-z_][A-Za-z0-9_$]*)"
_MODULE = re.compile(rf"^\s*module\s+({_IDENT})\s*(?:#\s*\(.*?\)\s*)?\(", re.M | re.S)
_DECL = re.compile(rf"^\s*(input|output|inout|reg|wire|logic)\b\s*(signed\s+)?(?:\[\s*(-?\d+)\s*:\s*(-?\d+)\s*\]\s*)?"
                   rf"({_IDENT})\s*(\[[^\]]*\]\s*)?", re.M)
_ALWAYS = re.compile(r"always\s*@\s*\(\s*(?:posedge|negedge)\b", re.M)
_ASSIGN_LHS = re.compile(rf"({_IDENT})\s*(?:\[[^\]]*\]\s*)*<=")
_INSTANCE = re.compile(rf"^\s*({_IDENT})\s+({_IDENT})\s*\(\s*$", re.M)
_CONNECTION = re.compile(rf"\.({_IDENT})\s*\(\s*({_IDENT})\s*\)")
_NEXT_ITEM = re.compile(r"^\s{0,2}(?:always|assign|reg|wire|input|output|endmodule|initial)\b|^\s{0,2}\S+\s+\S+\s*\($", re.M)
_MEM_RANGE = re.compile(r"\[\s*(-?\d+)\s*:\s*(-?\d+)\s*\]")


def _clean(name: str) -> str:
    """Escaped identifier ``\\$1000`` -> ``$1000``."""
    return name[1:] if name.startswith("\\") else name


@dataclass
class ModuleInfo:
    name: str
    ports: dict = field(default_factory=dict)        # name -> direction
    widths: dict = field(default_factory=dict)       # signal -> bits
    flops: dict = field(default_factory=dict)        # signal -> bits
    memories: dict = field(default_factory=dict)     # name -> (width bits, depth)
    instances: list = field(default_factory=list)    # (module, instance name)
    port_nets: set = field(default_factory=set)      # nets connected whole to an instance port
    port_links: dict = field(default_factory=dict)   # such a net -> (child module, child port)

    @property
    def flop_bits(self) -> int:
        return sum(self.flops.values())


def _module_bodies(text: str):
    pos = 0
    while True:
        m = _MODULE.search(text, pos)
        if not m:
            return
        end = text.find("endmodule", m.end())
        if end < 0:
            end = len(text)
        yield _clean(m.group(1)), text[m.end():end]
        pos = end + 1


def _scan_module(name: str, body: str) -> ModuleInfo:
    info = ModuleInfo(name)
    for m in _DECL.finditer(body):
        kind, msb, lsb, signal, unpacked = m.group(1), m.group(3), m.group(4), _clean(m.group(5)), m.group(6)
        width = abs(int(msb) - int(lsb)) + 1 if msb is not None else 1
        if kind in ("input", "output", "inout"):
            info.ports[signal] = kind
        if unpacked:
            r = _MEM_RANGE.search(unpacked)
            depth = abs(int(r.group(1)) - int(r.group(2))) + 1 if r else 0
            info.memories[signal] = (width, depth)
        else:
            info.widths.setdefault(signal, width)
    for m in _ALWAYS.finditer(body):
        start = body.find("\n", m.end())
        nxt = _NEXT_ITEM.search(body, start + 1) if start >= 0 else None
        block = body[m.end():nxt.start() if nxt else len(body)]
        for lhs in _ASSIGN_LHS.finditer(block):
            signal = _clean(lhs.group(1))
            if signal in info.memories:
                continue
            info.flops[signal] = info.widths.get(signal, 1)
    for m in _INSTANCE.finditer(body):
        module, inst = _clean(m.group(1)), _clean(m.group(2))
        if module in ("module", "always", "assign", "initial", "if", "else", "case", "begin", "end"):
            continue
        close = body.find(");", m.end())
        conns = body[m.end():close if close >= 0 else len(body)]
        info.instances.append((module, inst))
        for c in _CONNECTION.finditer(conns):
            net = _clean(c.group(2))
            info.port_nets.add(net)
            info.port_links[net] = (module, _clean(c.group(1)))
    return info


def scan_verilog(paths) -> dict:
    """Scan Verilog files; return ``{module name: ModuleInfo}``."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    modules = {}
    for path in paths:
        text = Path(path).read_text()
        for name, body in _module_bodies(text):
            modules[name] = _scan_module(name, body)
    # keep only instances of modules we know (drop any false match)
    for info in modules.values():
        info.instances = [(mod, inst) for mod, inst in info.instances if mod in modules]
    return modules


@dataclass
class Design:
    """The instance tree under ``top``, placed at hierarchy ``root`` (e.g. ``fp_stream_tb.dut``)."""

    modules: dict
    top: str
    root: str

    @classmethod
    def from_verilog(cls, paths, top: str, root: str) -> "Design":
        modules = scan_verilog(paths)
        if top not in modules:
            raise ValueError(f"module {top!r} not found in {', '.join(map(str, paths))}")
        return cls(modules, top, root)

    def instances(self):
        """Yield (hierarchy path, module) for the top and every instance below it."""
        stack = [(self.root, self.top)]
        while stack:
            path, module = stack.pop()
            yield path, module
            for child, inst in self.modules[module].instances:
                stack.append((f"{path}.{inst}", child))

    def module_at(self) -> dict:
        return dict(self.instances())

    def instance_counts(self) -> Counter:
        return Counter(module for _, module in self.instances())

    def flop_bits(self, module_filter=None) -> int:
        """Flip-flop bits in the whole tree (or in instances whose module passes ``module_filter``)."""
        return sum(self.modules[m].flop_bits for _, m in self.instances()
                   if module_filter is None or module_filter(m))

    def memories(self):
        """Yield (hierarchy path, name, width bits, depth) for every memory array."""
        for path, module in self.instances():
            for name, (width, depth) in self.modules[module].memories.items():
                yield path, name, width, depth
