"""Host driver: run layers on the generated SoC with the DRAM model.

``run_phase`` places each accelerator's layer in its own DRAM window,
writes the memory image(s) in bulk, runs one simulation in which the listed
accelerators start together and share the bus, and returns their outputs
(read back from the DRAM dump), counters and finishing times.
"""

import dataclasses
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from hw.soc import SoCParams
from sim.core import runner
from sim.core.hexfile import read_words, write_words
from .soc_layout import PAGE, LayerPlacement, layer_placement, phase_window, place_layer, port_of_page, read_output
from .soc_tb import MemoryParams, tb_build

from hw.csr import REG_OFFSETS as REGISTERS


@dataclass
class LayerJob:
    W: np.ndarray
    X: np.ndarray
    bias: np.ndarray | None
    relu: bool


def _port_images(image: bytearray, ports: int, bus_width: int):
    """Split a linear DRAM image into per-port word arrays (4 KiB page interleaving)."""
    pages = -(-len(image) // PAGE)
    image = bytes(image) + bytes(pages * PAGE - len(image))
    lanes = bus_width // 32
    per_port = [[] for _ in range(ports)]
    for p in range(pages):                                   # in page order: local pages ascend
        per_port[port_of_page(p, ports)[0]].append(image[p * PAGE:(p + 1) * PAGE])
    return [np.frombuffer(b"".join(chunks) or bytes(PAGE), "<u4").reshape(-1, lanes) for chunks in per_port]


def _merge(port_words, ports: int, total: int) -> bytes:
    blobs = [w.astype("<u4").tobytes() for w in port_words]
    pages = -(-total // PAGE)
    out = bytearray()
    for p in range(pages):
        j, local = port_of_page(p, ports)
        out += blobs[j][local * PAGE:(local + 1) * PAGE]
    return bytes(out[:total])


def _window(params: SoCParams, jobs: dict) -> int:
    """Bytes of the DRAM window of each accelerator (``soc_layout.phase_window``), from shapes alone."""
    R, C, W = params.array.rows, params.array.cols, params.bus_width
    ends = [layer_placement(job.W.shape[0], job.W.shape[1], job.X.shape[1], job.bias is not None,
                            R, C, W, base=0).end for job in jobs.values()]
    return phase_window(ends, params.mem_ports)


def _placements(params: SoCParams, jobs: dict):
    """Each job laid out from address 0 (with its DRAM images), and the window that holds the largest."""
    R, C, W = params.array.rows, params.array.cols, params.bus_width
    return {i: place_layer(job.W, job.X, job.bias, R, C, W, base=0) for i, job in jobs.items()}, _window(params, jobs)


def dram_bytes(params: SoCParams, jobs: dict) -> int:
    """Bytes of DRAM ``run_phase`` needs for ``jobs``: one window per accelerator of the SoC."""
    return _window(params, jobs) * params.accelerators


TOGGLE_SCOPE = "soc_tb.dut"
# Toggle capture builds arrays of up to this many PEs flat (every register
# captured); larger ones keep the PE as a hierarchical block with coverage off
# inside it, its port registers counted in the parent (power.capture).
MAX_FLAT_CAPTURE_PES = 64


def capture_spec(spec, params: SoCParams):
    """``spec`` instrumented for toggle capture: flat for small arrays, else PE blocks kept.

    The capture keeps the PE, not the PE row that fast builds use, as the block:
    inside a row the nets between PEs are the PEs' activation registers, which
    the capture counts only where they are visible (power.classify, opaque)."""
    from sim.power.capture import with_toggle_capture
    from .soc import MODULE
    keep = params.array.rows * params.array.cols > MAX_FLAT_CAPTURE_PES
    if keep:
        spec = dataclasses.replace(spec, hier_blocks=(f"{MODULE}_pe",))
    return with_toggle_capture(spec, scope=TOGGLE_SCOPE, keep_hier_blocks=keep)


@lru_cache(maxsize=8)
def soc_design(params: SoCParams):
    """The SoC's netlist (instances, flip-flops, memories) for classifying its toggles."""
    from sim.power.netlist import Design
    from .soc import MODULE, soc_source
    return Design.from_verilog([soc_source(params)], top=MODULE, root=TOGGLE_SCOPE)


def run_phase(params: SoCParams, jobs: dict, *, mem: MemoryParams = MemoryParams(), simulator="verilator",
              run_dir: Path, wall_timeout_s: float = 3600, capture_toggles: bool = False,
              progress_every: int | None = None, faults: dict | None = None, allow_errors: bool = False,
              fp: str = "rtl", build: dict | None = None) -> dict:
    """jobs: {accelerator index: LayerJob}.  Returns outputs, counters, cycles, memory stats,
    and with ``capture_toggles`` the SoC's toggles per component (a power.ToggleSummary)
    from Verilator's toggle coverage or an Icarus VCD of the flat build.  With
    ``progress_every``, the testbench writes the cycles simulated so far to
    ``run_dir/progress.json`` every that many cycles.

    ``faults`` ({port: {"read": n, "write": n, "resp": 2|3}}, or the PP_INJECT_FAULT
    environment variable, ``read:N[:RESP][@PORT]`` / ``write:N[:RESP][@PORT]``) makes the
    DRAM model answer the n-th read beat or write burst of that port with SLVERR (2) or
    DECERR (3).  An accelerator that ends with an error status raises SimulationError in
    one line, unless ``allow_errors``: then the results carry the DRAM image before
    (``dram_before``) and after (``dram_after``) the phase.

    ``fp="behavioural"`` simulates the PEs with the C model (sim/designs/fp/fp_behavioural.py).
    ``build`` overrides the simulator build's settings (``runner.SimBuild`` fields such as
    ``fast`` or ``threads``; make bench compares them)."""
    run_dir = Path(run_dir).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    R, C, W = params.array.rows, params.array.cols, params.bus_width
    placed, window = _placements(params, jobs)
    layouts = {}
    image = bytearray(window * params.accelerators)
    if len(image) > mem.words * (W // 8) * params.mem_ports:
        raise ValueError(f"the layers need {len(image)} bytes of DRAM, the model has "
                         f"{mem.words * (W // 8) * params.mem_ports}")
    accs = []
    for i, job in sorted(jobs.items()):
        base = i * window
        place, writes = placed[i]
        place = LayerPlacement(place.w_addr + base, place.x_addr + base, place.b_addr + base,
                               place.y_addr + base, place.y_bytes, place.end + base)
        for addr, blob in writes.items():
            image[base + addr:base + addr + len(blob)] = blob
        layouts[i] = place
        values = {"m": job.W.shape[0], "k": job.W.shape[1], "n": job.X.shape[1],
                  "flags": int(job.bias is not None) | (int(job.relu) << 1),
                  "w_addr": place.w_addr, "x_addr": place.x_addr, "b_addr": place.b_addr,
                  "y_addr": place.y_addr, "win_base": i * window, "win_limit": (i + 1) * window}
        accs.append({"index": i, "registers": [(REGISTERS[k], v) for k, v in values.items()]})
    port_words = _port_images(image, params.mem_ports, W)
    plusargs = fault_plusargs(faults if faults is not None else faults_from_env(), params.mem_ports)
    for j, words in enumerate(port_words):
        write_words(run_dir / f"mem{j}.hex", words)
        plusargs += [f"+MEM_INIT{j}={run_dir / f'mem{j}.hex'}", f"+MEM_DUMP{j}={run_dir / f'dump{j}.hex'}"]
    work = sum(j.W.shape[0] * j.W.shape[1] * j.X.shape[1] for j in jobs.values())
    byte_total = len(image)
    phase = {"accelerators": accs, "mem_ports": params.mem_ports, "dump_words": int(port_words[0].shape[0]),
             "watchdog_cycles": int(100000 + 4 * work / (R * C) + 8 * byte_total / (W // 8)),
             "progress_cycles": progress_every or 0}
    (run_dir / "phase.json").write_text(json.dumps(phase))
    results_path = run_dir / "results.json"
    results_path.unlink(missing_ok=True)
    spec = tb_build(params, mem, simulator)
    if build:
        spec = dataclasses.replace(spec, **build)
    if fp != "rtl":
        if capture_toggles:
            raise ValueError("toggle capture needs the RTL FP units (FP=rtl)")
        from sim.designs.fp.fp_behavioural import behavioural_spec
        spec = behavioural_spec(spec, params)
    if capture_toggles:
        from sim.power.capture import VCD_NAME
        spec = capture_spec(spec, params)
        for stale in ("coverage.dat", VCD_NAME):
            (run_dir / stale).unlink(missing_ok=True)
    runner.run_test(spec, "sim.designs.soc.tb_phase", run_dir=run_dir, plusargs=plusargs,
                    wall_timeout_s=wall_timeout_s,
                    extra_env={"SOC_PHASE": str(run_dir / "phase.json"), "SOC_PHASE_RESULTS": str(results_path),
                               **({"SOC_PHASE_PROGRESS": str(run_dir / "progress.json")} if progress_every
                                  else {})})
    results = json.loads(results_path.read_text())
    if capture_toggles:
        from sim.power.capture import read_toggles
        from sim.power.classify import ClassMap, summarize
        signals = read_toggles(spec, run_dir, scope=TOGGLE_SCOPE)
        results["toggles"] = summarize(signals, soc_design(params), ClassMap(), opaque=spec.hier_blocks)
    dumps = [read_words(run_dir / f"dump{j}.hex", W // 32) for j in range(params.mem_ports)]
    memory = _merge(dumps, params.mem_ports, len(image))
    for i, job in jobs.items():
        place = layouts[i]
        Y = read_output(memory[place.y_addr:place.y_addr + place.y_bytes], job.W.shape[0], job.X.shape[1], C, W)
        results["accelerators"][str(i)]["Y"] = Y
    failed = {i: r["status"] for i, r in results["accelerators"].items() if r["status"] != STATUS_DONE}
    if allow_errors:
        results["dram_before"], results["dram_after"], results["layouts"] = bytes(image), memory, layouts
    elif failed:
        i, status = sorted(failed.items())[0]
        raise runner.SimulationError(f"accelerator {i} ended with status {status:#x}: {describe_status(status)}"
                                     + (f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""))
    return results


STATUS_DONE = 0b10                        # hw/csr.py: bit 1 done, bit 0 busy, bits 15:8 the error code
ERROR_BITS = {0x01: "a zero dimension", 0x02: "the layer does not fit", 0x04: "a misaligned address",
              0x08: "an access outside its window", 0x10: "a bus error response",
              0x20: "the array rejected the layer"}


def describe_status(status: int) -> str:
    """The error bits of a node's STATUS word in words (hw/node.py)."""
    code = status >> 8
    words = [text for bit, text in ERROR_BITS.items() if code & bit]
    return ", ".join(words) if words else ("not done" if not status & STATUS_DONE else "no error")


def faults_from_env() -> dict:
    """PP_INJECT_FAULT=read:N[:RESP][@PORT] or write:N[:RESP][@PORT] (a test hook)."""
    text = os.environ.get("PP_INJECT_FAULT", "").strip()
    if not text:
        return {}
    spec, _, port = text.partition("@")
    kind, _, rest = spec.partition(":")
    count, _, resp = rest.partition(":")
    if kind not in ("read", "write") or not count.isdigit() or resp not in ("", "2", "3") or \
            not (port == "" or port.isdigit()):
        raise ValueError(f"PP_INJECT_FAULT={text!r}: expected read:N[:2|3][@PORT] or write:N[:2|3][@PORT]")
    return {int(port or 0): {kind: int(count), "resp": int(resp or 2)}}


def fault_plusargs(faults: dict, ports: int) -> list:
    plusargs = []
    for port, fault in faults.items():
        if not 0 <= port < ports:
            raise ValueError(f"fault on memory port {port}, but the SoC has {ports}")
        for key, arg in (("read", "FAULT_READ"), ("write", "FAULT_WRITE"), ("resp", "FAULT_RESP")):
            if key in fault:
                plusargs.append(f"+MEM_INIT{port}_{arg}={int(fault[key])}")
    return plusargs
