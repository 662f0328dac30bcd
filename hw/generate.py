"""Verilog generator CLI.

    python -m hw.generate fp32_mul|fp32_add [--latency L] [--ftz] -o DIR
    python -m hw.generate soc --accelerators N --rows R --cols C --bus-width W [--mem-ports M] -o DIR
    python -m hw.generate pe|array|accelerator --rows R --cols C
                          [--mul-latency L] [--add-latency L] [--ftz]
                          [--weight-words N --input-words N --acc-words N --bias-words N] -o DIR

Writes ``DIR/<module>.v`` and ``DIR/<module>.json`` (a manifest with the block,
its parameters and latencies, and a hash of the Verilog).  Hierarchical blocks
convert the PE once (module ``<module>_pe``) and place it by instance.  Bad input prints a
one-line ``error:`` message and exits with status 2; nothing is half-written
(files are written to temporaries and renamed).
"""

import argparse
import hashlib
import json
import sys
from pathlib import Path

from .config import AcceleratorParams, ArrayParams
from .fp32 import FPAdd, FPMul, FPParams
from .fp32.params import DEFAULT_ADD_LATENCY, DEFAULT_MUL_LATENCY
from .pe import PE
from .soc import SoCParams


class GenerateError(Exception):
    """Bad generator input; reported as one line with exit status 2."""


def _fp_block(cls, default_latency):
    def build(args):
        latency = default_latency if args.latency is None else args.latency
        try:
            params = FPParams(latency=latency, ftz=args.ftz)
        except ValueError as exc:
            raise GenerateError(str(exc)) from None
        return cls(params), {"latency": params.latency, "ftz": params.ftz}
    return build


def _array_params(args) -> ArrayParams:
    if args.rows is None or args.cols is None:
        raise GenerateError(f"{args.block} needs --rows and --cols")
    try:
        return ArrayParams(rows=args.rows, cols=args.cols,
                           mul_latency=DEFAULT_MUL_LATENCY if args.mul_latency is None else args.mul_latency,
                           add_latency=DEFAULT_ADD_LATENCY if args.add_latency is None else args.add_latency,
                           ftz=args.ftz)
    except ValueError as exc:
        raise GenerateError(str(exc)) from None


def _hier_block(kind):
    def build(args):
        from . import netlist
        array = _array_params(args)
        if kind == "pe":
            return PE(array), {**vars_of(array)}
        if kind == "array":
            top = netlist.array_top(array, "pp_array")
            return _Design(top, netlist.with_pe(top, array, "pp_array")), {**vars_of(array), "latency": array.latency}
        try:
            params = AcceleratorParams(array=array, weight_words=args.weight_words, input_words=args.input_words,
                                       acc_words=args.acc_words, bias_words=args.bias_words)
        except ValueError as exc:
            raise GenerateError(str(exc)) from None
        top = netlist.accelerator_top(params, "pp_accel")
        return _Design(top, netlist.with_pe(top, array, "pp_accel")), {
            **vars_of(array), "array_latency": array.latency, "weight_words": params.weight_words,
            "input_words": params.input_words, "acc_words": params.acc_words, "bias_words": params.bias_words}
    return build


class _Design:
    """A top component and its Verilog (with the PE module it instantiates)."""

    def __init__(self, top, text: str):
        self.top, self.text = top, text


def vars_of(array: ArrayParams) -> dict:
    return {"rows": array.rows, "cols": array.cols, "mul_latency": array.mul_latency,
            "add_latency": array.add_latency, "ftz": array.ftz}


def _soc_block(args):
    from . import netlist
    array = _array_params(args)
    try:
        params = SoCParams(accelerators=args.accelerators, array=array, bus_width=args.bus_width,
                           mem_ports=args.mem_ports, ring_tiles=args.ring_tiles, read_burst=args.read_burst,
                           input_words=args.input_words,
                           acc_words=args.acc_words, bias_words=args.bias_words)
    except ValueError as exc:
        raise GenerateError(str(exc)) from None
    top = netlist.soc_top(params, "pp_soc")
    return _Design(top, netlist.with_pe(top, array, "pp_soc")), {
        **vars_of(array), "accelerators": params.accelerators, "bus_width": params.bus_width,
        "mem_ports": params.mem_ports, "ring_tiles": params.ring_tiles, "read_burst": params.read_burst,
        "input_words": params.input_words,
        "acc_words": params.acc_words, "bias_words": params.bias_words, "array_latency": array.latency}


# block name -> (Verilog module name, builder(args) -> (component or _Design, parameters))
BLOCKS = {
    "fp32_mul": ("fp32_mul", _fp_block(FPMul, DEFAULT_MUL_LATENCY)),
    "fp32_add": ("fp32_add", _fp_block(FPAdd, DEFAULT_ADD_LATENCY)),
    "pe": ("pp_pe", _hier_block("pe")),
    "array": ("pp_array", _hier_block("array")),
    "accelerator": ("pp_accel", _hier_block("accelerator")),
    "soc": ("pp_soc", _soc_block),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise GenerateError(message)


def make_parser():
    parser = _Parser(prog="python -m hw.generate", description=__doc__.split("\n\n")[0])
    parser.add_argument("block", help=f"one of: {', '.join(BLOCKS)}")
    parser.add_argument("-o", "--output", required=True, type=Path, help="output directory")
    parser.add_argument("--latency", type=int, help="FP unit pipeline latency in cycles (>= 1)")
    parser.add_argument("--ftz", action="store_true", help="flush subnormals to zero (FP units)")
    parser.add_argument("--rows", type=int, help="array rows R (the K dimension)")
    parser.add_argument("--cols", type=int, help="array columns C (the M dimension)")
    parser.add_argument("--mul-latency", type=int, help=f"multiplier latency (default {DEFAULT_MUL_LATENCY})")
    parser.add_argument("--add-latency", type=int, help=f"adder latency (default {DEFAULT_ADD_LATENCY})")
    parser.add_argument("--accelerators", type=int, default=3, help="SoC: number of accelerators (default 3)")
    parser.add_argument("--bus-width", type=int, default=512, help="SoC: AXI data width in bits (default 512)")
    parser.add_argument("--mem-ports", type=int, default=1, help="SoC: interleaved memory ports (default 1)")
    parser.add_argument("--ring-tiles", type=int, default=SoCParams.ring_tiles,
                        help="SoC: weight ring size in tiles (default 3 with one memory port, 6 with more)")
    parser.add_argument("--read-burst", type=int, default=SoCParams.read_burst,
                        help="SoC: beats of one DMA read burst, 1-256 (default 16: short bursts keep "
                             "the memory's queue short)")
    defaults = AcceleratorParams()
    for name in ("weight_words", "input_words", "acc_words", "bias_words"):
        parser.add_argument("--" + name.replace("_", "-"), type=int, default=getattr(defaults, name),
                            help=f"accelerator scratchpad depth in words (default {getattr(defaults, name)})")
    return parser


def generate(argv=None):
    """Run the generator; return the paths written.  Raises GenerateError."""
    from . import netlist

    args = make_parser().parse_args(argv)
    if args.block not in BLOCKS:
        raise GenerateError(f"unknown block {args.block!r}; choose one of {', '.join(BLOCKS)}")
    module, builder = BLOCKS[args.block]
    design, params = builder(args)
    if isinstance(design, _Design):
        top, text = design.top, design.text
    else:
        top, text = design, netlist.convert(design, module)
    manifest = {
        "block": args.block,
        "module": module,
        "parameters": params,
        "ports": netlist.port_table(top),
        "verilog_sha256": hashlib.sha256(text.encode()).hexdigest(),
    }
    out_dir = args.output
    written = []
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for path, content in ((out_dir / f"{module}.v", text),
                              (out_dir / f"{module}.json", json.dumps(manifest, indent=2) + "\n")):
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(content)
            written.append((tmp, path))
        for tmp, path in written:
            tmp.replace(path)
    except OSError as exc:
        for tmp, _ in written:
            tmp.unlink(missing_ok=True)
        raise GenerateError(f"cannot write to {out_dir}: {exc.strerror or exc}") from None
    return [path for _, path in written]


def main(argv=None):
    try:
        for path in generate(argv):
            print(path)
    except GenerateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
