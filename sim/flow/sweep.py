"""``make sweep``: P = 1..Pmax x DRAM port counts, each point a task.

Every point runs on one SoC of Pmax accelerators per memory variant: idle
accelerators cost no cycles and no energy, so one build per variant serves
every P.  The work is two kinds of task, both plain functions of picklable
settings that return their report fragment:

* `baseline_task(settings, ports)`: the unpruned model on one accelerator;
* `point_task(settings, P, ports, baseline)`: the pruned model on P
  accelerators, priced against that baseline's records.

Where they run (``--executor``):

* ``ray``: Ray tasks, on the cluster at ``RAY_ADDRESS`` when it is set, or
  on a Ray instance started here.  Every node needs the project installed at
  the same path (``make deps``); each node caches its own builds and models
  under its ``build/`` (``PP_BUILD_DIR``).  The points wait on their
  baseline's object, so the baselines run first, on any node.
* ``local``: a process pool on this machine (``--workers``, default the
  cores): the two baselines first, then the points, longest (P = 1) first.
* ``auto`` (the default): ``ray`` when ``RAY_ADDRESS`` is set, else ``local``.

Models are prepared inside the tasks (cached per node, keyed by their
settings); training pins torch to a fixed thread count, so a point gives the
same model on any executor.
"""

import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

from .experiment import PAPER, log
from .records import ROOFLINE_GOAL, share
from .config import FlowConfig, FlowError
from sim.core.runner import BUILD_ROOT, SimulationError


def worker_setup(simulator: str):
    """In a pool or Ray worker: the simulator's environment, and SIGINT/SIGTERM end this
    worker's simulators too (they run in their own sessions, out of Ctrl-C's reach)."""
    from sim.core.runner import install_interrupt_handlers
    from sim.core.toolchain import setup_env
    install_interrupt_handlers()
    setup_env(simulator)


def baseline_task(config: FlowConfig, ports: int) -> list:
    """The baseline's per-layer records for one memory variant."""
    from . import experiment as flow
    args = config.with_point(config.max_partitions, ports)
    if config.engine == "model":
        from . import predict as flow_predict
        return flow_predict.baseline(args, args.max_partitions)
    worker_setup(args.sim)
    return flow.run_baseline(args, accelerators=args.max_partitions)


def point_task(config: FlowConfig, partitions: int, ports: int, baseline: list) -> dict:
    """One sweep point: the pruned model on ``partitions`` accelerators against ``baseline``."""
    from . import experiment as flow
    args = config.with_point(partitions, ports)
    if config.engine == "model":
        from . import predict as flow_predict
        return flow_predict.point(args, args.max_partitions, baseline)
    worker_setup(args.sim)
    r = flow.run(args, accelerators=args.max_partitions, baseline=baseline)
    t = r["totals"]
    log(f"sweep P={partitions}, {ports} port(s): speedup {t['speedup']:.2f}x, energy ratio {t['energy_ratio']:.2f}x")
    return {"partitions": partitions, "mem_ports": ports, "speedup": t["speedup"],
            "energy_ratio": t["energy_ratio"], "cycles": t["cycles"],
            "baseline_cycles": t["baseline_cycles"], "bit_exact": r["correctness"]["bit_exact"],
            "verified": r["verdict"]["ok"],
            "inter_layer_cycles": sum(layer["inter_layer_cycles"] for layer in r["layers"]),
            **flow.point_roofline(t["roofline"]),
            "accuracy": r["accuracy"].get("retrained", {}).get("top1"), "engine": "rtl"}


def run_local(settings: FlowConfig, grid: list, workers: int) -> list:
    """The tasks on a process pool here (spawned: no torch or thread state is forked)."""
    ports = sorted({p for _, p in grid})
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        baselines = dict(zip(ports, pool.map(baseline_task, [settings] * len(ports), ports)))
        futures = [pool.submit(point_task, settings, P, p, baselines[p]) for P, p in grid]
        return [f.result() for f in futures]


def run_ray(settings: FlowConfig, grid: list) -> list:
    """The tasks on Ray: the cluster at RAY_ADDRESS, or a Ray instance started here."""
    from .experiment import connect_ray
    ray = connect_ray()       # a local instance's workers inherit this environment
    try:
        base = ray.remote(num_cpus=1)(baseline_task)
        point = ray.remote(num_cpus=1)(point_task)
        baselines = {p: base.remote(settings, p) for p in sorted({p for _, p in grid})}
        return ray.get([point.remote(settings, P, p, baselines[p]) for P, p in grid])
    except ray.exceptions.RayTaskError as exc:          # the task's own error, as if it ran here
        raise exc.cause if isinstance(exc.cause, Exception) else RuntimeError(str(exc)) from None
    finally:
        ray.shutdown()


def sweep(args: FlowConfig) -> int:
    """P = 1..Pmax x ``args.ports``; the report and figure under build/sim/sweep (or --out)."""
    from sim.core.toolchain import ToolchainError, setup_env
    executor = args.executor
    if executor == "auto":
        executor = "ray" if os.environ.get("RAY_ADDRESS") else "local"
    settings = args
    grid = [(P, ports) for P in range(1, args.max_partitions + 1) for ports in args.ports]
    grid.sort(key=lambda point: (point[0], point[1]))      # P = 1 (the longest pruned run) first
    try:
        setup_env(args.sim)
        if executor == "ray":
            points = run_ray(settings, grid)
        else:
            points = run_local(settings, grid, args.workers or os.cpu_count() or 1)
    except (FlowError, ToolchainError, SimulationError, ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, (FlowError, ValueError)) else 1
    rows = sorted(points, key=lambda r: (r["mem_ports"], r["partitions"]))
    out = getattr(args, "out", None) or BUILD_ROOT / "sim" / "sweep"
    model = "tinyvgg16-fc" if args.scale == "paper" else args.model
    write_sweep_report(out, {"array": {"rows": args.rows, "cols": args.cols}, "model": model,
                             "batch": args.batch, "accelerators": args.max_partitions, "executor": executor,
                             "engine": args.engine,
                             "points": rows})
    log(f"sweep report: {out / 'report.md'}")
    failed = [r for r in rows if r["verified"] is False]
    if failed:
        print(f"error: {len(failed)} sweep point(s) are not correct (P={failed[0]['partitions']}, "
              f"{failed[0]['mem_ports']} port(s) first); see {out / 'report.md'}", file=sys.stderr)
        return 1
    return 0


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
        for r in pts:                                      # how close each pruned run came to its bound
            axes[0].annotate(share(r["roofline"]["pruned"]), (r["partitions"], r["speedup"]),
                             textcoords="offset points", xytext=(4, -10), fontsize=7)
        energy = [r for r in pts if r["energy_ratio"] is not None]      # none for cycle-model points
        axes[1].plot([r["partitions"] for r in energy], [r["energy_ratio"] for r in energy], "o-", label=label)
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
             "| P | DRAM ports | baseline cycles | cycles | speedup | ideal P^2 | roofline, baseline / pruned | "
             "the same without array-bound layers | energy ratio | fine-tuned top-1 | bit-exact |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    pct = lambda v: "-" if v is None else f"{v:.2f} %"
    energy = lambda r: "n/a (cycle model)" if r["energy_ratio"] is None else f"{r['energy_ratio']:.2f}x"
    exact = lambda r: "n/a (cycle model)" if r["bit_exact"] is None else r["bit_exact"]
    fraction = lambda v: "-" if v is None else share(v)
    roof = lambda r, key: " / ".join(fraction(r[key][k]) for k in ("baseline", "pruned"))
    lines += [f"| {r['partitions']} | {r['mem_ports']} | {r['baseline_cycles']:,} | {r['cycles']:,} | "
              f"{r['speedup']:.2f}x | {r['partitions'] ** 2} | {roof(r, 'roofline')} | "
              f"{roof(r, 'roofline_without_array_bound')} | {energy(r)} | "
              f"{pct(r['accuracy'])} | {exact(r)} |" for r in points]
    lines += ["", "Roofline: cycles at the run's bound (per layer the larger of DRAM beats / ports and weight tiles "
              "x max(vectors, rows)) over the cycles measured; the figure labels each pruned point with it."]
    bound_layers = sorted({name for r in points for name in r["array_bound_layers"]})
    if bound_layers:
        lines += ["", f"The same without array-bound layers: leaving out the layers whose largest block, on the "
                  f"array alone with every weight in place, needs more than their bound / {ROOFLINE_GOAL} cycles "
                  f"(here {', '.join(bound_layers)}), which no memory system brings to {ROOFLINE_GOAL:.0%}; "
                  f"each run's report says why, per layer. \"-\": the run has no such layer, or only such "
                  f"layers."]
    lines += ["", "![speedup and energy vs P](speedup_energy_vs_p.png)", ""]
    (out / "report.md").write_text("\n".join(lines))


