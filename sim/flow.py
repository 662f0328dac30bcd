"""End-to-end flow behind ``make sim`` / ``make sweep``.

Not built yet: the flow needs the systolic-array accelerator (issue 3), the
multi-accelerator SoC with DMA and shared bus (issue 4), the pruning package
(issue 5) and the power model (issue 7).  Until they exist this entry point
says so and exits non-zero; it never prints a made-up result.
"""

import argparse
import sys

MISSING = [
    "FP32 weight-stationary systolic-array accelerator (hw.pe / hw.array / hw.accelerator)",
    "DMA engines, shared AXI bus and multi-accelerator SoC (hw.soc)",
    "end-to-end driver that runs pruned layers on the SoC and writes build/sim/P<P>/report.json",
    "toggle-count power model (sim.power)",
]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m sim.flow")
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--rows", type=int, default=32)
    parser.add_argument("--cols", type=int, default=32)
    parser.add_argument("--sweep", action="store_true")
    parser.parse_args(argv)
    print("error: the end-to-end flow is not built yet; missing:", file=sys.stderr)
    for item in MISSING:
        print(f"  - {item}", file=sys.stderr)
    print("what works today: `make test` (FP32 units against SoftFloat), `make soak`, "
          "`python -m hw.generate fp32_mul|fp32_add -o DIR`", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
