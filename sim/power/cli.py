"""``python -m sim.power``: energy of one run from its toggle file and counters.

    python -m sim.power --energy-table aladdin-40nm --coverage run/coverage.dat \\
        --verilog build/verilog/fp32_mul-*/fp32_mul.v --top fp32_mul --counters counters.json

    python -m sim.power --energy-table my-tech.json --vcd run/power.vcd --scope fp_stream_tb.dut ...

``--counters`` is a JSON object with any of::

    {"cycles": 1000, "clock_hz": 2e8,
     "fp_ops": {"fp32_mul": 500, "fp32_add": 500},
     "sram": [{"name": "wmem", "size_bytes": 32768, "width_bits": 1024, "reads": 10, "writes": 10}],
     "dram": {"bytes_read": 4096, "bytes_written": 1024, "activations": 2},
     "inventory": {"flop_bits": 1200, "fp32_mul_units": 4, "fp32_add_units": 4, "sram_bytes": 65536}}

With ``--verilog``/``--top`` the toggles are split into register and wire
bits per component and the flip-flops, FP units and scratchpads are counted
from the netlist (counters' ``inventory`` overrides); without a netlist every
toggle is priced as a wire toggle.  Errors print one line, ``error: ...``
naming the file and the field, and exit with status 2.
"""

import argparse
import json
import sys
from pathlib import Path

from sim.core.constants import CLOCK_HZ

from .activity import CoverageFileError, read_coverage, read_vcd
from .classify import ClassMap
from .capture import activity_from_toggles
from .model import Activity, DramTraffic, FPOps, SramTraffic, compute_energy
from .netlist import Design
from .report import COMPONENT_LABELS, _fmt_pj
from .tables import EnergyTableError, load_table, shipped_tables


class CountersFileError(ValueError):
    """A counters file is missing or malformed; the message names the file and the field."""


def _num(path, name, value, integer=False):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise CountersFileError(f"{path}: field '{name}': must be a non-negative number, got {value!r}")
    if integer and int(value) != value:
        raise CountersFileError(f"{path}: field '{name}': must be an integer, got {value!r}")
    return int(value) if integer else float(value)


def load_counters(path) -> dict:
    """Read and check a counters JSON (see the module docstring); returns typed pieces."""
    path = Path(path)
    if not path.exists():
        raise CountersFileError(f"{path}: counters file not found")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise CountersFileError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(data, dict):
        raise CountersFileError(f"{path}: the top level must be a JSON object")
    out = {}
    if "cycles" in data:
        out["cycles"] = _num(path, "cycles", data["cycles"], integer=True)
    out["clock_hz"] = _num(path, "clock_hz", data.get("clock_hz", CLOCK_HZ))
    if out["clock_hz"] == 0:
        raise CountersFileError(f"{path}: field 'clock_hz': must be > 0")
    fp = data.get("fp_ops", {})
    ops = []
    if isinstance(fp, dict):
        for op, count in fp.items():
            ops.append(FPOps(op, _num(path, f"fp_ops.{op}", count, integer=True)))
    elif isinstance(fp, list):
        for i, entry in enumerate(fp):
            if not isinstance(entry, dict) or "op" not in entry or "count" not in entry:
                raise CountersFileError(f"{path}: field 'fp_ops[{i}]': needs 'op' and 'count'")
            toggles = entry.get("operand_toggles")
            ops.append(FPOps(entry["op"], _num(path, f"fp_ops[{i}].count", entry["count"], integer=True),
                             None if toggles is None else _num(path, f"fp_ops[{i}].operand_toggles", toggles)))
    else:
        raise CountersFileError(f"{path}: field 'fp_ops': must be an object {{op: count}} or a list")
    for o in ops:
        if o.op not in ("fp32_mul", "fp32_add"):
            raise CountersFileError(f"{path}: field 'fp_ops': unknown operation {o.op!r} (fp32_mul, fp32_add)")
    out["fp_ops"] = ops
    sram = []
    entries = data.get("sram", [])
    if not isinstance(entries, list):
        raise CountersFileError(f"{path}: field 'sram': must be a list")
    for i, e in enumerate(entries):
        if not isinstance(e, dict):
            raise CountersFileError(f"{path}: field 'sram[{i}]': must be an object")
        for key in ("size_bytes", "width_bits"):
            if key not in e:
                raise CountersFileError(f"{path}: field 'sram[{i}].{key}': missing")
        sram.append(SramTraffic(str(e.get("name", f"sram{i}")), _num(path, f"sram[{i}].size_bytes", e["size_bytes"]),
                                _num(path, f"sram[{i}].width_bits", e["width_bits"], integer=True),
                                _num(path, f"sram[{i}].reads", e.get("reads", 0), integer=True),
                                _num(path, f"sram[{i}].writes", e.get("writes", 0), integer=True)))
        if sram[-1].size_bytes == 0 or sram[-1].width_bits == 0:
            raise CountersFileError(f"{path}: field 'sram[{i}]': size_bytes and width_bits must be > 0")
    out["sram"] = sram
    d = data.get("dram")
    if d is not None:
        if not isinstance(d, dict):
            raise CountersFileError(f"{path}: field 'dram': must be an object")
        acts = d.get("activations")
        out["dram"] = DramTraffic(_num(path, "dram.bytes_read", d.get("bytes_read", 0), integer=True),
                                  _num(path, "dram.bytes_written", d.get("bytes_written", 0), integer=True),
                                  None if acts is None else _num(path, "dram.activations", acts, integer=True),
                                  d.get("bursts"))
    inv = data.get("inventory")
    if inv is not None:
        if not isinstance(inv, dict):
            raise CountersFileError(f"{path}: field 'inventory': must be an object")
        known = {"flop_bits", "leaky_flop_bits", "fp32_mul_units", "fp32_add_units", "sram_bytes"}
        for key, value in inv.items():
            if key not in known:
                raise CountersFileError(f"{path}: field 'inventory.{key}': unknown (known: {', '.join(sorted(known))})")
            _num(path, f"inventory.{key}", value)
        out["inventory"] = inv
    return out


class _Parser(argparse.ArgumentParser):
    """Usage errors as one ``error: ...`` line and exit 2, like every other error here."""

    def error(self, message):
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)


def _parser():
    p = _Parser(prog="python -m sim.power", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--energy-table", action="append", dest="tables", metavar="NAME|FILE",
                   help=f"a shipped table ({', '.join(shipped_tables())}) or a JSON file; repeat for "
                        f"several (default: both shipped tables)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--coverage", help="Verilator coverage.dat (built with --coverage-toggle)")
    src.add_argument("--vcd", help="VCD of the run (e.g. Icarus $dumpvars)")
    p.add_argument("--scope", help="VCD scope (or coverage hierarchy) of the design root, e.g. fp_stream_tb.dut")
    p.add_argument("--verilog", nargs="+", help="the design's Verilog (for flip-flops, ports, memories)")
    p.add_argument("--top", help="the design's top module in --verilog")
    p.add_argument("--counters", help="JSON with cycles, FP ops, SRAM/DRAM traffic, inventory")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return p


def _activity(args) -> Activity:
    counters = load_counters(args.counters) if args.counters else {"clock_hz": CLOCK_HZ, "fp_ops": [], "sram": []}
    signals = []
    if args.coverage:
        signals = read_coverage(args.coverage)
    elif args.vcd:
        signals = read_vcd(args.vcd, scope=args.scope)
    if args.verilog:
        root = args.scope
        if root is None:
            roots = [s.hier for s in signals if s.module == args.top]
            if not roots:
                raise CoverageFileError(f"{args.coverage or args.vcd}: no signals of module {args.top!r}; "
                                        f"pass --scope with the design's hierarchy")
            root = roots[0]
        design = Design.from_verilog(args.verilog, args.top, root)
        ops = {o.op: o.count for o in counters["fp_ops"]}
        activity, _ = activity_from_toggles(signals, design, fp_ops=ops, sram=counters["sram"],
                                            dram=counters.get("dram"), cycles=counters.get("cycles"),
                                            clock_hz=counters["clock_hz"])
        measured = {o.op: o for o in activity.fp_ops}
        for o in counters["fp_ops"]:           # explicit operand activity in the counters wins
            if o.operand_toggles is not None:
                measured[o.op].operand_toggles = o.operand_toggles
    else:
        toggles = {}
        if signals:
            summary = summarize_without_netlist(signals, args.scope)
            toggles = summary
        if "cycles" not in counters:
            clock = [s for s in signals if ClassMap().is_clock(s.signal)]
            if not clock:
                raise CountersFileError(f"{args.counters or '(no --counters)'}: field 'cycles': missing, and "
                                        f"no clock toggles to count them from")
            counters["cycles"] = max(c.rises if c.rises is not None else c.toggles // 2 for c in clock)
        activity = Activity(cycles=counters["cycles"], clock_hz=counters["clock_hz"], toggles=toggles,
                            fp_ops=counters["fp_ops"], sram=counters["sram"], dram=counters.get("dram"))
    if "inventory" in counters:
        for key, value in counters["inventory"].items():
            setattr(activity.inventory, key, value)
    return activity


def summarize_without_netlist(signals, scope=None) -> dict:
    """Toggles per component by module name alone, all priced as wire toggles."""
    cmap = ClassMap()
    out = {}
    for s in signals:
        if scope and not (s.hier == scope or s.hier.startswith(scope + ".")):
            continue
        if cmap.is_clock(s.signal):
            continue
        comp = cmap.component(s.module or s.hier.rsplit(".", 1)[-1], s.signal)
        out.setdefault(comp, {"reg": 0, "wire": 0})["wire"] += s.toggles
    return out


def main(argv=None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.verilog and not args.top:
        parser.error("--verilog needs --top (the design's top module)")
    tables = args.tables or shipped_tables()
    try:
        loaded = [load_table(t) for t in tables]
        activity = _activity(args)
        results = [compute_energy(activity, t) for t in loaded]
    except (EnergyTableError, CoverageFileError, CountersFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyError as exc:          # a module or operation the netlist does not define
        print(f"error: {exc.args[0]!r} is not defined in the --verilog files or the counters", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"activity": activity.as_dict(), "energy": [r.as_dict() for r in results]}, indent=1))
        return 0
    print(f"cycles {activity.cycles} at {activity.clock_hz / 1e6:g} MHz ({activity.seconds * 1e6:.3g} us)")
    for o in activity.fp_ops:
        print(f"{o.op}: {o.count} ops, {o.mean_operand_toggles(32):.2f} operand bit toggles per op")
    for comp, kinds in sorted(activity.toggles.items()):
        print(f"toggles {comp}: {kinds['reg']} register bits, {kinds['wire']} wire bits")
    width = max(len(v) for v in COMPONENT_LABELS.values())
    print()
    print(f"{'component':<{width}}  " + "  ".join(f"{r.table:>14}" for r in results))
    for comp, label in COMPONENT_LABELS.items():
        vals = [r.components[comp] for r in results]
        if any(vals):
            print(f"{label:<{width}}  " + "  ".join(f"{_fmt_pj(v):>14}" for v in vals))
    print(f"{'total':<{width}}  " + "  ".join(f"{_fmt_pj(r.total_pj):>14}" for r in results))
    return 0
