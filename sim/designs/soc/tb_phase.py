"""cocotb testbench: one phase of work on the SoC + DRAM model (soc_tb).

The DRAM images are loaded in bulk (+MEM_INIT<j>); Python programs the CSRs
of the accelerators listed in SOC_PHASE (JSON) over AXI4-Lite, starts them
together and sleeps until the interrupt lines change -- one wake-up per
finishing accelerator -- then reads status and counters, dumps DRAM
(+MEM_DUMP<j>) and writes the results (SOC_PHASE_RESULTS).
"""

import json
import os
from pathlib import Path

import cocotb
from cocotb.triggers import ClockCycles, RisingEdge, SimTimeoutError, Timer, with_timeout
from cocotb.utils import get_sim_time
from cocotbext.axi import AxiLiteBus, AxiLiteMaster

from hw.csr import BLOCK_BYTES, COUNTER_BASE, CTRL_OFFSET, STATUS_OFFSET
from hw.node import NODE_COUNTERS as COUNTERS
from sim.core.constants import CLOCK_NS
from .soc_tb import STATS


def now_cycles():
    return round(get_sim_time("ns") / CLOCK_NS)


async def report_progress(path: Path, every_cycles: int):
    """Write the cycles simulated so far to ``path`` every ``every_cycles``: one wake-up
    per interval, so the flow can show progress of long phases without a per-cycle cost."""
    tmp = path.with_name(path.name + ".tmp")
    while True:
        await Timer(every_cycles * CLOCK_NS, "ns")
        tmp.write_text(json.dumps({"cycles": now_cycles()}))
        tmp.replace(path)


@cocotb.test()
async def phase(dut):
    job = json.loads(Path(os.environ["SOC_PHASE"]).read_text())
    # soc_tb runs its own 200 MHz clock
    csr = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil"), dut.clk, dut.rst)
    dut.rst.value = 1
    dut.load.value = 0
    dut.dump.value = 0
    dut.dump_words.value = job["dump_words"]
    await ClockCycles(dut.clk, 4)
    dut.rst.value = 0
    dut.load.value = 1
    await RisingEdge(dut.clk)
    dut.load.value = 0
    await RisingEdge(dut.clk)

    for acc in job["accelerators"]:
        base = BLOCK_BYTES * acc["index"]
        for offset, value in acc["registers"]:
            resp = await csr.write(base + offset, int(value).to_bytes(4, "little"))
            assert int(resp.resp) == 0, f"CSR write {base + offset:#x} refused"
    # start them back to back: one CSR write each
    starts = {}
    for acc in job["accelerators"]:
        starts[acc["index"]] = now_cycles()
        await csr.write(BLOCK_BYTES * acc["index"] + CTRL_OFFSET, (1).to_bytes(4, "little"))
    mask = sum(1 << a["index"] for a in job["accelerators"])
    progress = os.environ.get("SOC_PHASE_PROGRESS")
    reporter = cocotb.start_soon(report_progress(Path(progress), job["progress_cycles"])) if progress else None
    finished = {}

    async def wait_all():
        while True:
            value = int(dut.irq.value)
            for a in job["accelerators"]:
                i = a["index"]
                if value >> i & 1 and i not in finished:
                    finished[i] = now_cycles()
            if value & mask == mask:
                return
            await dut.irq.value_change

    try:
        await with_timeout(wait_all(), job["watchdog_cycles"] * CLOCK_NS, "ns")
    except SimTimeoutError:
        raise AssertionError(f"watchdog: accelerators {sorted(set(starts) - set(finished))} not done after "
                             f"{job['watchdog_cycles']} cycles (irq={int(dut.irq.value):b})") from None
    if reporter is not None:
        reporter.cancel()
    results = {"accelerators": {}, "phase_cycles": max(finished.values()) - min(starts.values())}
    for a in job["accelerators"]:
        i = a["index"]
        base = BLOCK_BYTES * i
        status = int.from_bytes((await csr.read(base + STATUS_OFFSET, 4)).data, "little")
        counters = {}
        for k, name in enumerate(COUNTERS):
            counters[name] = int.from_bytes((await csr.read(base + COUNTER_BASE + 4 * k, 4)).data, "little")
        results["accelerators"][str(i)] = {"status": status, "counters": counters,
                                           "start": starts[i], "finish": finished[i]}
    results["memory"] = [{s: int(getattr(dut, f"mem{j}_{s}").value) for s in STATS}
                         for j in range(job["mem_ports"])]
    dut.dump.value = 1
    await RisingEdge(dut.clk)
    dut.dump.value = 0
    await ClockCycles(dut.clk, 2)
    Path(os.environ["SOC_PHASE_RESULTS"]).write_text(json.dumps(results, indent=1))
    # an accelerator's error status is a result, judged by the host driver (sim/designs/soc/soc_driver.py)
    violations = [int(getattr(dut, f"mem{j}_axi_violations").value) for j in range(job["mem_ports"])]
    assert not any(violations), f"AXI protocol violations per memory port {violations} (axi_checker lines in sim.log)"
