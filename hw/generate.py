"""Verilog generator CLI.

    python -m hw.generate fp32_mul|fp32_add [--latency L] [--ftz] -o DIR

Writes ``DIR/<module>.v`` and ``DIR/<module>.json`` (a manifest with the block,
its parameters and latencies, and a hash of the Verilog).  Bad input prints a
one-line ``error:`` message and exits with status 2; nothing is half-written
(files are written to temporaries and renamed).
"""

import argparse
import hashlib
import json
import sys
from pathlib import Path

from .fp32 import FPAdd, FPMul, FPParams
from .fp32.params import DEFAULT_ADD_LATENCY, DEFAULT_MUL_LATENCY


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


# block name -> (Verilog module name, builder(args) -> (component, parameters))
BLOCKS = {
    "fp32_mul": ("fp32_mul", _fp_block(FPMul, DEFAULT_MUL_LATENCY)),
    "fp32_add": ("fp32_add", _fp_block(FPAdd, DEFAULT_ADD_LATENCY)),
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
    return parser


def generate(argv=None):
    """Run the generator; return the paths written.  Raises GenerateError."""
    from amaranth.back import verilog

    args = make_parser().parse_args(argv)
    if args.block not in BLOCKS:
        raise GenerateError(f"unknown block {args.block!r}; choose one of {', '.join(BLOCKS)}")
    module, builder = BLOCKS[args.block]
    component, params = builder(args)
    text = verilog.convert(component, name=module, emit_src=False)
    manifest = {
        "block": args.block,
        "module": module,
        "parameters": params,
        "ports": _ports(component),
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


def _ports(component):
    ports = {}
    for name, member in component.signature.members.items():
        if member.is_port:
            from amaranth.hdl import Shape
            ports[name] = {"direction": member.flow.value, "width": Shape.cast(member.shape).width}
    return ports


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
