"""``make sim`` / ``make sweep``: a partition-pruned model's FC layers on the generated SoC.

    python -m sim.flow --partitions 3 [--rows 32 --cols 32] [--model lenet300] [--batch 128]
                       [--sim verilator|icarus] [--mem-ports 1] [--sweep] [--scale paper]

1. train (cached) the model on the offline MNIST subset, partition-prune its
   FC layers (not the classifier) into P blocks and fine-tune (sim/flow_model.py);
2. build one SoC of P R x C accelerators sharing one bus to the DRAM model,
   and the one-accelerator SoC of the baseline (same bus and DRAM model);
3. baseline: every FC layer of the unpruned model, dense, on the one
   accelerator (simulated alongside step 4: two processes, two cores);
4. pruned: every partitioned layer as P blocks, block p on accelerator p, all
   started together on the shared bus; the classifier stays dense on
   accelerator 0, as in the paper.  Between layers the host scatters the
   blocks' outputs and gathers the next layer's inputs; that traffic is
   charged at the bus bandwidth (bytes / bus bytes per cycle);
5. check every output bit for bit against the golden model and the batch's
   accuracy from hardware outputs against torch's, and write
   build/sim/P<P>/report.json, report.md and PNG plots.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from .runner import BUILD_ROOT, SimulationError

PAPER = {"speedup_p3": 7.72, "energy_ratio_p3": 2.73}


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def soc_params(args, prepared, accelerators=None):
    """The SoC for this run: scratchpads large enough for every layer (streamed weights
    need only the ring), and at least the SoC defaults so batch sizes up to those share
    one build."""
    from hw.config import ArrayParams
    from hw.soc import SoCParams
    from .accel_layout import words_needed
    R, C, N = args.rows, args.cols, args.batch
    need = {"input_words": 1, "acc_words": 1, "bias_words": 1}
    for layer in prepared.layers:
        M, K = layer.W_base.shape
        for key, words in words_needed(M, K, N, R, C).items():
            if key in need:
                need[key] = max(need[key], words)
    d = SoCParams()
    sized = {k: 1 << (max(v, getattr(d, k)) - 1).bit_length() for k, v in need.items()}
    return SoCParams(accelerators=accelerators or max(args.partitions, 1), array=ArrayParams(R, C), bus_width=512,
                     mem_ports=args.mem_ports, **sized)


def layer_jobs(layer, X, pruned: bool):
    """({accelerator: LayerJob}, blocks or None) for one FC layer on input X."""
    from .soc_driver import LayerJob
    W = layer.W_pruned if pruned else layer.W_base
    b = layer.b_pruned if pruned else layer.b_base
    if pruned and layer.partitioned:
        blocks = layer.blocks()
        return {p: LayerJob(Wp, np.ascontiguousarray(X[cols]), bp, layer.relu)
                for p, (rows, cols, Wp, bp) in enumerate(blocks)}, blocks
    return {0: LayerJob(W, X, b, layer.relu)}, None


def memory_params(prepared, params, base_params):
    """The DRAM model's size: the default, or larger when a phase needs more (SCALE=paper)."""
    from .soc_driver import PAGE, dram_bytes
    from .soc_tb import MemoryParams
    default = MemoryParams()
    need = 0
    for layer in prepared.layers:
        X = np.zeros((layer.W_base.shape[1], prepared.x_base.shape[1]), np.float32)
        for p, pruned in ((base_params, False), (params, True)):
            need = max(need, dram_bytes(p, layer_jobs(layer, X, pruned)[0]))
    pages = -(-need // PAGE)                                     # ports interleave 4 KiB pages
    per_port_words = -(-pages // params.mem_ports) * PAGE // (params.bus_width // 8)
    words = max(default.words, 1 << (per_port_words - 1).bit_length())
    return default if words == default.words else MemoryParams(words=words)


def run_chain(params, prepared, *, pruned: bool, simulator: str, run_dir: Path, mem=None,
              wall_timeout_s: float = 3600, capture_toggles: bool = False):
    """Run the FC chain; return per-layer records and the final logits."""
    from .flow_energy import phase_energy
    from .golden.gemm import compare, linear
    from .soc_driver import run_phase
    from .soc_tb import MemoryParams

    X = prepared.x_pruned if pruned else prepared.x_base
    records, bus_bytes = [], params.bus_width // 8
    for index, layer in enumerate(prepared.layers):
        W = layer.W_pruned if pruned else layer.W_base
        t0 = time.perf_counter()
        jobs, blocks = layer_jobs(layer, X, pruned)
        kind = "pruned" if pruned else "baseline"
        log(f"{kind} layer {layer.name} {W.shape[0]}x{W.shape[1]}x{X.shape[1]} on {len(jobs)} accelerator(s)")
        result = run_phase(params, jobs, mem=mem or MemoryParams(), simulator=simulator,
                           run_dir=run_dir / f"{kind}-L{index}", wall_timeout_s=wall_timeout_s,
                           capture_toggles=capture_toggles)
        Y = np.zeros((W.shape[0], X.shape[1]), np.float32)
        verdicts, accs = [], {}
        for p, job in jobs.items():
            r = result["accelerators"][str(p)]
            verdicts.append(compare(r["Y"], linear(job.W, job.X, job.bias, job.relu)))
            if blocks:
                Y[blocks[p][0]] = r["Y"]
            else:
                Y = r["Y"]
            accs[p] = {k: r["counters"][k] for k in r["counters"]} | {"finish": r["finish"] - r["start"]}
        # host gather of the next layer's inputs and scatter of these outputs, at bus bandwidth
        moved = 0
        if pruned and layer.partitioned:
            moved += 4 * Y.size                                   # scatter: block outputs -> one vector
            nxt = prepared.layers[index + 1] if index + 1 < len(prepared.layers) else None
            moved += 4 * Y.size if nxt is not None else 0         # gather: next layer's block inputs
        inter_layer = -(-moved // bus_bytes)
        dram = {k: sum(port[k] for port in result["memory"]) for k in result["memory"][0]}
        energy = phase_energy(params.accel, jobs, {p: result["accelerators"][str(p)]["counters"] for p in jobs},
                              result["phase_cycles"] + inter_layer,
                              dram, bus_bytes,
                              toggles=result.get("toggles"))
        records.append({
            "name": layer.name, "shape": [int(W.shape[0]), int(W.shape[1])], "batch": int(X.shape[1]),
            "partitioned": bool(pruned and layer.partitioned), "accelerators": len(jobs),
            "cycles": int(result["phase_cycles"]) + int(inter_layer), "phase_cycles": int(result["phase_cycles"]),
            "inter_layer_cycles": int(inter_layer), "per_accelerator": accs,
            "dram": dram,
            "bit_exact": all(v["bit_exact"] for v in verdicts),
            "max_abs_err": max(v["max_abs_err"] for v in verdicts),
            "nonzero_weights": int(np.count_nonzero(W)), "wall_seconds": round(time.perf_counter() - t0, 1),
            "toggles": result["toggles"].by_component if "toggles" in result else None,
            "_energy": energy,
        })
        done = records[-1]
        log(f"{kind} layer {layer.name}: {done['cycles']:,} cycles, bit-exact {done['bit_exact']} "
            f"({done['wall_seconds']:.0f} s)")
        X = Y
    return records, X


def breakdown(layer) -> dict:
    """Where a layer's cycles went, from the slowest accelerator's counters."""
    slow = max(layer["per_accelerator"].values(), key=lambda a: a["finish"])
    array = slow["array_cycles"]
    return {"compute": slow["compute"], "weight_wait_and_bus": slow["weight_wait"] + slow["stall"],
            "drain": slow["drain"] + 3, "dma_in_out": max(0, slow["cycles"] - array),
            "start_skew": max(0, layer["phase_cycles"] - slow["finish"]),
            "inter_layer": layer["inter_layer_cycles"]}


def write_report(out_dir: Path, report: dict):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tmp = out_dir.with_name(out_dir.name + ".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "report.json").write_text(json.dumps(report, indent=1))
    names = [l["name"] for l in report["layers"]]
    fig, ax = plt.subplots(figsize=(7, 4))
    x = np.arange(len(names))
    ax.bar(x - 0.2, [l["baseline_cycles"] for l in report["layers"]], 0.4, label="unpruned, 1 accelerator")
    ax.bar(x + 0.2, [l["cycles"] for l in report["layers"]], 0.4,
           label=f"P={report['partitions']}, {report['accelerators']} accelerators")
    ax.set_xticks(x, names)
    ax.set_ylabel("cycles (200 MHz)")
    ax.set_yscale("log")
    ax.set_title(f"{report['model']} FC layers on {report['array']['rows']}x{report['array']['cols']} FP32 arrays")
    ax.legend()
    fig.tight_layout()
    fig.savefig(tmp / "cycles_per_layer.png", dpi=120)
    plt.close(fig)
    from .power.report import energy_markdown, plot_energy
    plot_energy(report["energy"], tmp / "energy.png")
    (tmp / "report.md").write_text(markdown(report) + "\n" + energy_markdown(report["energy"])
                                   + "\n\n![energy per layer](energy.png)\n")
    if out_dir.exists():
        import shutil
        shutil.rmtree(out_dir)
    tmp.rename(out_dir)


def markdown(r: dict) -> str:
    t = r["totals"]
    lines = [f"# Partition Pruning on the generated SoC: P = {r['partitions']}", "",
             f"Model {r['model']}, batch {r['batch']} test images, {r['accelerators']} x "
             f"{r['array']['rows']}x{r['array']['cols']} FP32 weight-stationary arrays at 200 MHz, "
             f"{r['bus']['width']}-bit shared bus, {r['bus']['mem_ports']} DRAM port(s) "
             f"(DDR3-1600 model, 64 B/cycle), simulator {r['simulator']}.", "",
             "| layer | shape | blocks | baseline cycles | pruned cycles | speedup | compute | weight wait + bus "
             "| DMA in/out | inter-layer | bit-exact |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for l in r["layers"]:
        b = l["breakdown"]
        lines.append(f"| {l['name']} | {l['shape'][0]}x{l['shape'][1]} | {l['accelerators']} | "
                     f"{l['baseline_cycles']:,} | {l['cycles']:,} | {l['baseline_cycles'] / l['cycles']:.2f}x | "
                     f"{b['compute']:,} | {b['weight_wait_and_bus']:,} | {b['dma_in_out']:,} | "
                     f"{b['inter_layer']:,} | {'yes' if l['bit_exact'] else 'NO'} |")
    acc = r["accuracy"]
    lines += ["", f"**Total: {t['baseline_cycles']:,} -> {t['cycles']:,} cycles, speedup {t['speedup']:.2f}x** "
              f"(paper, TinyVGG16 at P = 3: {PAPER['speedup_p3']}x; ideal P^2 = {r['partitions'] ** 2}).", ""]
    if r.get("synthetic"):
        lines += [
            "SCALE=paper: TinyVGG16's FC shapes at PyTorch's initialisation on a synthetic batch (TinyImageNet "
            "is not available offline), partition-pruned without fine-tuning. Accuracy is agreement: the "
            f"pruned model's torch predictions match the unpruned model's on {acc['pruned_agrees_with_unpruned']:.2f} "
            "% of the batch; hardware predictions equal torch's: baseline "
            f"{r['predictions_match_torch']['baseline']}, pruned {r['predictions_match_torch']['pruned']}.", ""]
    else:
        lines += [
            f"Accuracy on the {acc['test_images']} test images: baseline {acc['baseline']['top1']:.2f} %, "
            f"pruned {acc['pruned']['top1']:.2f} %, fine-tuned {acc['retrained']['top1']:.2f} % (top-1).",
            f"On this batch, from hardware outputs: baseline {r['hardware_accuracy']['baseline']:.2f} % "
            f"(torch {r['torch_accuracy']['baseline']:.2f} %), pruned {r['hardware_accuracy']['pruned']:.2f} % "
            f"(torch {r['torch_accuracy']['pruned']:.2f} %).", ""]
    lines += [
              f"Correctness: every output bit-exact against the golden model: {r['correctness']['bit_exact']}.",
              "", f"Energy ({t['energy_table']}): {t['baseline_energy_pj'] / 1e6:.2f} uJ -> {t['energy_pj'] / 1e6:.2f} uJ, "
              f"ratio {t['energy_ratio']:.2f}x (paper {PAPER['energy_ratio_p3']}x); method: {r['energy']['method']}.",
              "", "Columns: *compute* = cycles the slowest accelerator issued vectors; *weight wait + bus* = "
              "cycles its array waited for weight tiles (the shared bus) or accumulators; *DMA in/out* = "
              "loading inputs/bias and storing outputs; *inter-layer* = host scatter/gather of block "
              "activations charged at the bus bandwidth.", "", "![cycles per layer](cycles_per_layer.png)", ""]
    return "\n".join(lines)


def _prepare(args):
    """The model's FC chain for ``args.partitions`` (trained and cached, or SCALE=paper's shapes)."""
    if getattr(args, "scale", "default") == "paper":
        from .flow_model import prepare_paper
        return prepare_paper(args.partitions, args.batch, args.seed, dims=args.fc_dims, progress=log)
    from .flow_model import prepare
    return prepare(args.model, args.partitions, args.batch, args.seed, progress=log)


def run(args, accelerators=None, baseline_cache=None) -> dict:
    """One P: the baseline on a one-accelerator SoC and the pruned model on the
    P-accelerator SoC, the two chains simulated side by side (two processes)."""
    from concurrent.futures import ThreadPoolExecutor

    from . import runner
    from .soc_driver import MAX_FLAT_CAPTURE_PES, capture_spec
    from .soc_tb import tb_build
    t_start = time.perf_counter()
    paper = getattr(args, "scale", "default") == "paper"
    prepared = _prepare(args)
    params = soc_params(args, prepared, accelerators)
    base_params = soc_params(args, prepared, 1)
    mem = memory_params(prepared, params, base_params)
    # SCALE=paper runs millions of cycles: the wall-clock watchdog grows with it
    wall = 12 * 3600 if paper else 3600
    tag = f"{prepared.model}-{args.rows}x{args.cols}-{params.mem_ports}port-{args.sim}"
    run_dir = BUILD_ROOT / "runs" / f"flow-P{args.partitions}-{params.accelerators}acc-{tag}"
    base_dir = BUILD_ROOT / "runs" / f"flow-P{args.partitions}-baseline-{tag}"
    toggles = getattr(args, "power", "events") == "toggles"
    if toggles:
        run_dir, base_dir = run_dir.with_name(run_dir.name + "-toggles"), base_dir.with_name(base_dir.name + "-toggles")
    cached = baseline_cache is not None and "base" in baseline_cache
    for n, p in ((1, base_params), (params.accelerators, params))[cached:]:
        log(f"SoC: {n} x {args.rows}x{args.cols}, bus {p.bus_width} bits, {p.mem_ports} DRAM port(s)"
            f"{', with toggle capture' if toggles else ''} (the first build takes minutes; cached afterwards)")
        spec = tb_build(p, mem, args.sim)
        runner.build(capture_spec(spec, p) if toggles else spec)
    with ThreadPoolExecutor(max_workers=2) as pool:
        pruned_job = pool.submit(run_chain, params, prepared, pruned=True, simulator=args.sim, run_dir=run_dir,
                                 mem=mem, wall_timeout_s=wall, capture_toggles=toggles)
        if cached:
            base, logits_base = baseline_cache["base"]
            base = [dict(b) for b in base]
        else:
            base, logits_base = run_chain(base_params, prepared, pruned=False, simulator=args.sim,
                                          run_dir=base_dir, mem=mem, wall_timeout_s=wall,
                                          capture_toggles=toggles)
            if baseline_cache is not None:
                baseline_cache["base"] = ([dict(b) for b in base], logits_base)
        pruned, logits_pruned = pruned_job.result()
    from .power.report import energy_section, totals_fields
    from .flow_energy import tables as energy_tables
    section = energy_section([(p["name"], p.pop("_energy")) for p in pruned],
                             baseline=[(b["name"], b.pop("_energy")) for b in base],
                             partitions=args.partitions, tables=energy_tables(), clock_hz=200e6)
    if toggles:
        flat = args.rows * args.cols <= MAX_FLAT_CAPTURE_PES or args.sim != "verilator"
        section["method"] = (
            "toggle capture of the SoC (Verilator --coverage-toggle or an Icarus VCD): register and wire toggles "
            "per component, " + ("flat build, FP ops at their measured operand activity" if flat else
                                 "PE kept as a hierarchical block with coverage off inside (its port registers "
                                 "counted at the array; its internal wires and FP operands not captured, FP ops "
                                 "at the table's random-operand energy)")
            + "; plus scratchpad accesses, DRAM bytes/activations, clock, leakage")
    else:
        section["method"] = ("event counts (FP ops at the table's random-operand energy, scratchpad accesses, "
                             "DRAM bytes/activations, clock, leakage); no toggle capture (POWER=toggles; "
                             "see sim/flow_energy.py)")
    for entry, p in zip(section["layers"], pruned):
        p["energy_pj"] = entry["energy_pj"]
    for entry, b in zip(section["baseline"]["layers"], base):
        b["energy_pj"] = entry["energy_pj"]
    layers = []
    for b, p in zip(base, pruned):
        entry = dict(p)
        entry["baseline_cycles"] = b["cycles"]
        entry["baseline"] = b
        entry["breakdown"] = breakdown(p)
        layers.append(entry)
    hw_pred_base, hw_pred_pruned = logits_base.argmax(axis=0), logits_pruned.argmax(axis=0)
    pct = lambda pred: float(100.0 * np.mean(pred == prepared.labels))
    total_base = sum(b["cycles"] for b in base)
    total = sum(p["cycles"] for p in pruned)
    report = {
        "partitions": args.partitions, "accelerators": params.accelerators,
        "array": {"rows": args.rows, "cols": args.cols}, "simulator": args.sim, "model": prepared.model,
        "synthetic": prepared.synthetic,
        "batch": args.batch, "bus": {"width": params.bus_width, "mem_ports": params.mem_ports},
        "accuracy": prepared.accuracy,
        "hardware_accuracy": {"baseline": pct(hw_pred_base), "pruned": pct(hw_pred_pruned)},
        "torch_accuracy": {"baseline": pct(prepared.torch_pred_base), "pruned": pct(prepared.torch_pred_pruned)},
        "predictions_match_torch": {"baseline": bool(np.array_equal(hw_pred_base, prepared.torch_pred_base)),
                                    "pruned": bool(np.array_equal(hw_pred_pruned, prepared.torch_pred_pruned))},
        "layers": layers,
        "totals": {"baseline_cycles": total_base, "cycles": total, "speedup": total_base / total,
                   **totals_fields(section),
                   "paper_speedup_p3": PAPER["speedup_p3"], "paper_energy_ratio_p3": PAPER["energy_ratio_p3"],
                   "ideal_speedup": args.partitions ** 2},
        "energy": section,
        "correctness": {"bit_exact": all(l["bit_exact"] and l["baseline"]["bit_exact"] for l in layers),
                        "max_abs_err": max(max(l["max_abs_err"], l["baseline"]["max_abs_err"]) for l in layers)},
        "wall_seconds": round(time.perf_counter() - t_start, 1),
    }
    return report


def _sweep_point(args, P, ports, cache) -> dict:
    import copy
    a = copy.copy(args)
    a.partitions, a.mem_ports = P, ports
    r = run(a, accelerators=args.max_partitions, baseline_cache=cache)
    t = r["totals"]
    log(f"sweep P={P}, {ports} port(s): speedup {t['speedup']:.2f}x, energy ratio {t['energy_ratio']:.2f}x")
    return {"partitions": P, "mem_ports": ports, "speedup": t["speedup"],
            "energy_ratio": t["energy_ratio"], "cycles": t["cycles"],
            "baseline_cycles": t["baseline_cycles"], "bit_exact": r["correctness"]["bit_exact"],
            "inter_layer_cycles": sum(layer["inter_layer_cycles"] for layer in r["layers"]),
            "accuracy": r["accuracy"].get("retrained", {}).get("top1")}


def sweep(args) -> int:
    """P = 1..Pmax on one SoC of Pmax accelerators, with one and two memory ports.

    Idle accelerators cost no cycles (the baseline's cycles are the same on a
    one- and a three-accelerator SoC) and are charged no energy, so one build
    per memory variant serves every P.  P = Pmax (the shortest pruned run) goes
    first, beside the baseline it caches; the other points then run two at a
    time, one per core, the longest (P = 1) first."""
    from concurrent.futures import ThreadPoolExecutor
    from .flow_model import FlowError
    from .toolchain import ToolchainError, setup_env
    if not 1 <= args.max_partitions <= 16:
        print(f"error: --max-partitions must be from 1 to 16, got {args.max_partitions}", file=sys.stderr)
        return 2
    rows = []
    try:
        setup_env(args.sim)
        for P in range(1, args.max_partitions + 1):   # fine-tuning seeds torch's global RNG: one at a time
            _prepare(argparse.Namespace(**{**vars(args), "partitions": P}))
        for ports in (1, 2):
            cache = {}
            points = [_sweep_point(args, args.max_partitions, ports, cache)]
            with ThreadPoolExecutor(max_workers=2) as pool:
                points += pool.map(lambda P: _sweep_point(args, P, ports, cache), range(1, args.max_partitions))
            rows += sorted(points, key=lambda r: r["partitions"])
    except (FlowError, ToolchainError, SimulationError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, (FlowError, ValueError)) else 1
    out = BUILD_ROOT / "sim" / "sweep"
    write_sweep_report(out, {"array": {"rows": args.rows, "cols": args.cols}, "model": args.model,
                             "batch": args.batch, "accelerators": args.max_partitions, "points": rows})
    log(f"sweep report: {out / 'report.md'}")
    return 0 if all(r["bit_exact"] for r in rows) else 1


def write_sweep_report(out: Path, report: dict):
    """report.json, speedup_energy_vs_p.png and report.md of a sweep (the paper-style figure)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=1))
    points = report["points"]
    ps = sorted({r["partitions"] for r in points})
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for ports in sorted({r["mem_ports"] for r in points}):
        pts = sorted((r for r in points if r["mem_ports"] == ports), key=lambda r: r["partitions"])
        label = "1 DRAM port (one shared bus)" if ports == 1 else f"{ports} interleaved DRAM ports"
        axes[0].plot([r["partitions"] for r in pts], [r["speedup"] for r in pts], "o-", label=label)
        axes[1].plot([r["partitions"] for r in pts], [r["energy_ratio"] for r in pts], "o-", label=label)
    axes[0].plot(ps, [p * p for p in ps], "k:", label="ideal P^2")
    axes[0].plot([3], [PAPER["speedup_p3"]], "kx", label="paper, TinyVGG16 (P=3)")
    axes[1].plot([3], [PAPER["energy_ratio_p3"]], "kx", label="paper, TinyVGG16 (P=3)")
    axes[0].set(xlabel="partitions P (one accelerator each)", ylabel="speedup vs unpruned on 1 accelerator")
    axes[1].set(xlabel="partitions P (one accelerator each)", ylabel="energy ratio (aladdin-40nm)")
    for ax in axes:
        ax.set_xticks(ps)
        ax.legend(fontsize=8)
    array = report["array"]
    fig.suptitle(f"{report['model']}, {array['rows']}x{array['cols']} arrays, batch {report['batch']}", fontsize=10)
    fig.tight_layout()
    fig.savefig(out / "speedup_energy_vs_p.png", dpi=120)
    plt.close(fig)
    lines = ["# Sweep: speedup and energy vs P", "",
             f"{report['model']}, {array['rows']}x{array['cols']} arrays on one SoC of {report['accelerators']} "
             f"accelerators, batch {report['batch']}. Speedup and energy ratio are against the unpruned model on "
             f"one accelerator with the same memory; paper (TinyVGG16, P = 3): {PAPER['speedup_p3']}x speedup, "
             f"{PAPER['energy_ratio_p3']}x energy.", "",
             "| P | DRAM ports | baseline cycles | cycles | speedup | ideal P^2 | energy ratio | fine-tuned top-1 | "
             "bit-exact |", "|---|---|---|---|---|---|---|---|---|"]
    pct = lambda v: "-" if v is None else f"{v:.2f} %"
    lines += [f"| {r['partitions']} | {r['mem_ports']} | {r['baseline_cycles']:,} | {r['cycles']:,} | "
              f"{r['speedup']:.2f}x | {r['partitions'] ** 2} | {r['energy_ratio']:.2f}x | {pct(r['accuracy'])} | "
              f"{r['bit_exact']} |" for r in points]
    lines += ["", "![speedup and energy vs P](speedup_energy_vs_p.png)", ""]
    (out / "report.md").write_text("\n".join(lines))


def _dims(text: str) -> tuple:
    try:
        dims = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected widths like 4608,4096,4096,200, got {text!r}") from None
    if len(dims) < 2 or min(dims) < 1:
        raise argparse.ArgumentTypeError(f"expected two or more positive widths, got {text!r}")
    return dims


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m sim.flow", description=__doc__.split("\n\n")[0])
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--rows", type=int, default=32)
    parser.add_argument("--cols", type=int, default=32)
    parser.add_argument("--model", default="lenet300")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--sim", default="verilator", choices=("verilator", "icarus"))
    parser.add_argument("--mem-ports", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sweep", action="store_true",
                        help="P = 1..--max-partitions on one SoC, with 1 and 2 memory ports")
    parser.add_argument("--max-partitions", type=int, default=5)
    parser.add_argument("--power", choices=("events", "toggles"), default="events",
                        help="toggles: capture the SoC's toggles per component (Verilator coverage or an "
                             "Icarus VCD) instead of pricing events only")
    parser.add_argument("--scale", choices=("default", "paper"), default="default",
                        help="paper: FC layers of TinyVGG16's dimensions (--fc-dims) instead of --model")
    parser.add_argument("--fc-dims", type=_dims, default=None,
                        help="with --scale paper: the FC chain's widths (default 4608,4096,4096,200)")
    args = parser.parse_args(argv)
    if args.fc_dims is not None and args.scale != "paper":
        parser.error("--fc-dims goes with --scale paper")
    if args.scale == "paper" and args.fc_dims is None:
        from .flow_model import PAPER_FC_DIMS
        args.fc_dims = PAPER_FC_DIMS
    from .flow_model import FlowError
    from .toolchain import ToolchainError, setup_env
    if args.sweep:
        return sweep(args)
    if args.partitions < 1:
        print(f"error: PARTITIONS must be >= 1, got {args.partitions}", file=sys.stderr)
        return 2
    if not 1 <= args.batch <= 4096:
        print(f"error: BATCH must be from 1 to 4096, got {args.batch}", file=sys.stderr)
        return 2
    out_dir = BUILD_ROOT / "sim" / (f"paper-P{args.partitions}" if args.scale == "paper" else f"P{args.partitions}")
    try:
        setup_env(args.sim)
        from hw.config import ArrayParams
        ArrayParams(args.rows, args.cols)
        report = run(args)
    except (FlowError, ToolchainError, SimulationError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, (FlowError, ValueError)) else 1
    write_report(out_dir, report)
    t = report["totals"]
    log(f"speedup {t['speedup']:.2f}x ({t['baseline_cycles']:,} -> {t['cycles']:,} cycles), "
        f"bit-exact {report['correctness']['bit_exact']}; report: {out_dir / 'report.md'}")
    return 0 if report["correctness"]["bit_exact"] else 1


if __name__ == "__main__":
    sys.exit(main())
