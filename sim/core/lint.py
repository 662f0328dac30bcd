"""``make lint``: ``verilator --lint-only -Wall`` on generated blocks.

Remaining warnings are either fixed or waived, with reasons, in
hw/lint/waivers.vlt; anything else fails.
"""

import argparse
import sys
import tempfile
from pathlib import Path

from . import toolchain
from .runner import REPO_ROOT, run_child

WAIVERS = REPO_ROOT / "hw" / "lint" / "waivers.vlt"


def lint_verilog(text: str, top: str) -> list[str]:
    """Return the warning/error lines Verilator reports for ``text`` (empty = clean)."""
    toolchain.setup_env("verilator")
    with tempfile.TemporaryDirectory(prefix="pp-lint-") as tmp:
        source = Path(tmp) / f"{top}.v"
        source.write_text(text)
        done = run_child(["verilator", "--lint-only", "-Wall", "--top-module", top, str(WAIVERS), str(source)],
                         capture=True)
    lines = [l for l in (done.stdout + done.stderr).splitlines() if l.startswith("%")]
    if done.returncode != 0 and not lines:
        lines = [f"%Error: verilator exited with {done.returncode}"]
    return lines


BLOCKS = ("pe", "array", "accelerator")


def lint_block(block: str, rows: int, cols: int) -> list[str]:
    from hw import netlist
    from hw.config import AcceleratorParams, ArrayParams
    array = ArrayParams(rows=rows, cols=cols)
    if block == "pe":
        return lint_verilog(netlist.pe_verilog(array, "pp_pe"), "pp_pe")
    if block == "array":
        return lint_verilog(netlist.array_verilog(array, "pp_array"), "pp_array")
    if block != "accelerator":
        raise ValueError(f"unknown block {block!r}; choose from {', '.join(BLOCKS)}")
    params = AcceleratorParams(array=array, weight_words=256, input_words=256, acc_words=256, bias_words=16)
    return lint_verilog(netlist.accelerator_verilog(params, "pp_accel"), "pp_accel")


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)


def main(argv=None):
    parser = _Parser(prog="python -m sim lint", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=32)
    parser.add_argument("--cols", type=int, default=32)
    parser.add_argument("--blocks", default=",".join(BLOCKS), help=f"comma-separated, from {', '.join(BLOCKS)}")
    args = parser.parse_args(argv)
    blocks = [b.strip() for b in args.blocks.split(",")]
    unknown = [b for b in blocks if b not in BLOCKS]
    if unknown or not blocks:
        parser.error(f"--blocks: unknown block {', '.join(map(repr, unknown))}; choose from {', '.join(BLOCKS)}")
    try:
        from hw.config import ArrayParams
        ArrayParams(rows=args.rows, cols=args.cols)
    except ValueError as exc:
        parser.error(str(exc))
    failed = False
    for block in blocks:
        try:
            problems = lint_block(block, args.rows, args.cols)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        status = "clean" if not problems else f"{len(problems)} warnings"
        print(f"lint {block} {args.rows}x{args.cols}: {status}")
        for line in problems[:20]:
            print("  " + line)
        failed |= bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
