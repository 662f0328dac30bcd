"""``--engine model``: a sweep point's cycles from the SoC cycle model instead of the RTL.

The same model preparation, layer jobs, host traffic and roofline as the RTL
flow (sim/flow/experiment.py); each phase's cycles come from sim/golden/soc_perf.py,
which equals the RTL's counters.  Nothing is simulated, so there are no
outputs to check (``bit_exact`` is None) and no energy (the energy model
needs DRAM row activations and the array's activity, which the cycle model
does not produce): ``energy_ratio`` is None.
"""

from dataclasses import dataclass

from . import experiment as flow
from .records import Roofline
from sim.golden.soc_perf import Layer, simulate


@dataclass(frozen=True)
class PredictedPhase:
    """One layer's phase from the cycle model: the fields of a PhaseRecord it can know."""

    name: str
    cycles: int
    phase_cycles: int
    inter_layer_cycles: int
    host_op_cycles: int
    roofline: Roofline


def predict_chain(params, prepared, *, pruned: bool, mem, single_params=None) -> list:
    records, bus_bytes = [], params.bus_width // 8
    for index, layer in enumerate(prepared.layers):
        W = layer.W_pruned if pruned else layer.W_base
        X = layer.x_pruned if pruned else layer.x_base
        jobs, _ = flow.layer_jobs(layer, X, pruned)
        soc = single_params if single_params is not None and list(jobs) == [0] else params
        result = simulate(soc, {p: Layer(*j.W.shape, j.X.shape[1], j.bias is not None) for p, j in jobs.items()}, mem)
        moved = flow.host_bytes(prepared, index, W.shape[0] * X.shape[1], pruned)
        inter_layer = -(-moved["scatter_gather"] // bus_bytes)
        host_cycles = -(-moved["host_ops"] // bus_bytes)
        dram = {k: sum(port[k] for port in result["memory"]) for k in result["memory"][0]}
        cycles = result["phase_cycles"] + inter_layer + host_cycles
        records.append(PredictedPhase(layer.name, cycles, result["phase_cycles"], inter_layer, host_cycles,
                                      flow.roofline(params, jobs, dram, cycles, inter_layer + host_cycles)))
    return records


def _setup(args, accelerators):
    prepared = flow._prepare(args)
    params = flow.soc_params(args, prepared, accelerators)
    base_params = flow.soc_params(args, prepared, 1)
    return prepared, params, base_params, flow.memory_params(prepared, params, base_params)


def baseline(args, accelerators) -> list:
    prepared, _, base_params, mem = _setup(args, accelerators)
    return predict_chain(base_params, prepared, pruned=False, mem=mem)


def point(args, accelerators, base: list) -> dict:
    prepared, params, base_params, mem = _setup(args, accelerators)
    pruned = predict_chain(params, prepared, pruned=True, mem=mem, single_params=base_params)
    total_base, total = sum(b.cycles for b in base), sum(p.cycles for p in pruned)
    return {"partitions": args.partitions, "mem_ports": args.mem_ports, "speedup": total_base / total,
            "energy_ratio": None, "cycles": total, "baseline_cycles": total_base, "bit_exact": None,
            "verified": None, "inter_layer_cycles": sum(p.inter_layer_cycles for p in pruned),
            **flow.point_roofline({"baseline": flow.total_roofline(base), "pruned": flow.total_roofline(pruned)}),
            "accuracy": prepared.accuracy.get("retrained", {}).get("top1"), "engine": "model"}
