"""The energy parts of report.json, report.md and the PNG plots.

The flow computes one :class:`~sim.power.model.EnergyBreakdown` per layer and
per energy table, for the pruned run (P accelerators) and for the unpruned
baseline (one accelerator), and calls::

    section = energy_section(layers, baseline=baseline_layers, partitions=P)
    report["energy"] = section
    report["totals"].update(totals_fields(section))       # baseline_energy_pj, energy_pj, energy_ratio
    markdown += energy_markdown(section)
    plot_energy(section, out_dir / "energy.png")

``layers`` and ``baseline`` are lists of ``(layer name, {table name:
EnergyBreakdown})``.  The ratio is baseline energy / pruned energy, printed
beside the paper's 2.73x for every table.
"""

from pathlib import Path

from sim.core.constants import PAPER_ENERGY_RATIO_P3

from .model import COMPONENT_ORDER, FIXED_COMPONENTS, EnergyBreakdown

PRIMARY_TABLE = "aladdin-40nm"       # the paper's toolchain
COMPONENT_LABELS = {
    "fp_mul": "FP32 multiply", "fp_add": "FP32 add", "register_toggles": "register toggles",
    "wire_toggles": "wire toggles", "clock": "clock (flip-flops)", "sram": "scratchpad SRAM",
    "dram_read_write": "DRAM read/write", "dram_activate": "DRAM activate/precharge",
    "dram_background": "DRAM background", "leakage": "leakage",
}


def _layer_entry(name, per_table: dict) -> dict:
    for table, e in per_table.items():
        if not isinstance(e, EnergyBreakdown):
            raise TypeError(f"layer {name!r}, table {table!r}: expected an EnergyBreakdown, got {type(e).__name__}")
    return {"name": name,
            "energy_pj": {t: e.total_pj for t, e in per_table.items()},
            "components_pj": {t: dict(e.components) for t, e in per_table.items()},
            "toggle_pj_by_unit": {t: dict(e.by_unit) for t, e in per_table.items()},
            "fp": {t: e.details.get("fp", {}) for t, e in per_table.items()},
            "cycles": next(iter(per_table.values())).details.get("cycles") if per_table else None}


def _totals(entries) -> dict:
    out = {}
    for entry in entries:
        for table, comps in entry["components_pj"].items():
            slot = out.setdefault(table, {"energy_pj": 0.0, "components_pj": {c: 0.0 for c in COMPONENT_ORDER}})
            for c, v in comps.items():
                slot["components_pj"][c] = slot["components_pj"].get(c, 0.0) + v
            slot["energy_pj"] += entry["energy_pj"][table]
    return out


def energy_ratio(baseline_pj: float, pruned_pj: float) -> float | None:
    """Baseline (unpruned, one accelerator) energy over the pruned run's: the paper's 2.73x."""
    if not pruned_pj or pruned_pj <= 0:
        return None
    return baseline_pj / pruned_pj


def energy_section(layers, *, baseline=None, partitions=None, tables=None, clock_hz=None) -> dict:
    """The ``energy`` block of report.json.

    ``tables``: optional ``{name: EnergyTable}`` whose figure sources are copied
    in, so the report says what every number stands on.
    """
    entries = [_layer_entry(name, per_table) for name, per_table in layers]
    section = {"layers": entries, "totals": _totals(entries)}
    if clock_hz is not None:
        section["clock_hz"] = clock_hz
    if baseline is not None:
        base_entries = [_layer_entry(name, per_table) for name, per_table in baseline]
        section["baseline"] = {"layers": base_entries, "totals": _totals(base_entries)}
        comparison = {"partitions": partitions, "paper_ratio": PAPER_ENERGY_RATIO_P3, "tables": {}}
        for table, total in section["totals"].items():
            base = section["baseline"]["totals"].get(table)
            if base is None:
                continue
            events = {k: v["energy_pj"] - sum(v["components_pj"].get(c, 0.0) for c in FIXED_COMPONENTS)
                      for k, v in (("baseline", base), ("pruned", total))}
            comparison["tables"][table] = {
                "baseline_energy_pj": base["energy_pj"], "energy_pj": total["energy_pj"],
                "energy_ratio": energy_ratio(base["energy_pj"], total["energy_pj"]),
                # without clock, leakage and DRAM background, which grow with time alone
                "event_energy_ratio": energy_ratio(events["baseline"], events["pruned"]),
                "time_proportional_share": {k: 1 - events[k] / v["energy_pj"] if v["energy_pj"] else None
                                            for k, v in (("baseline", base), ("pruned", total))},
            }
        section["comparison"] = comparison
    if tables:
        section["tables"] = {name: {"path": _shown_path(t.path), "description": t.description,
                                    "figures": t.provenance()}
                             for name, t in tables.items()}
        section["shared"] = shared_figures(tables)
    return section


def _shown_path(path: str) -> str:
    """A table's path as the report shows it: relative to the repository when inside it, so a
    committed report names no machine's folders."""
    from sim.core.runner import REPO_ROOT
    try:
        return str(Path(path).resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def shared_figures(tables: dict) -> str:
    """One line: which figures the tables do not have on their own (borrowed, or the same DRAM table)."""
    parts = []
    for name, t in tables.items():
        borrowed = sorted(k for k, f in t.figures.items() if f.borrowed_from)
        if borrowed:
            sources = sorted({t.figures[k].borrowed_from for k in borrowed})
            parts.append(f"{name} borrows {', '.join(borrowed)} from {', '.join(sources)}")
    drams = {t.dram.name for t in tables.values()}
    if len(drams) == 1 and len(tables) > 1:
        parts.append(f"all tables use the {drams.pop()} DRAM table")
    return "; ".join(parts) if parts else "the tables share no figure"


def totals_fields(section: dict, table: str = PRIMARY_TABLE) -> dict:
    """``baseline_energy_pj``, ``energy_pj``, ``energy_ratio`` for report.json's ``totals`` (one table)."""
    totals = section["totals"].get(table)
    if totals is None:
        raise KeyError(f"no energy under table {table!r}; have {sorted(section['totals'])}")
    out = {"energy_pj": totals["energy_pj"], "energy_table": table}
    cmp = section.get("comparison", {}).get("tables", {}).get(table)
    if cmp:
        out.update(baseline_energy_pj=cmp["baseline_energy_pj"], energy_ratio=cmp["energy_ratio"])
    return out


def _fmt_pj(pj: float) -> str:
    for unit, scale in (("mJ", 1e9), ("uJ", 1e6), ("nJ", 1e3)):
        if abs(pj) >= scale:
            return f"{pj / scale:.3g} {unit}"
    return f"{pj:.3g} pJ"


def energy_markdown(section: dict) -> str:
    """Markdown: energy per component per table, per layer, and the ratio beside the paper's."""
    tables = list(section["totals"])
    lines = ["## Energy", ""]
    cmp = section.get("comparison")
    if cmp:
        p = cmp.get("partitions")
        lines += [f"Energy of the unpruned model on one accelerator over the pruned model"
                  f"{f' on {p} partitions' if p else ''} (the paper: {PAPER_ENERGY_RATIO_P3}x):", "",
                  "| table | baseline | pruned | ratio | event-only ratio | time-proportional share, "
                  "baseline / pruned | paper |", "|---|---:|---:|---:|---:|---:|---:|"]
        fmt = lambda r: "n/a" if r is None else f"{r:.2f}x"
        for t, c in cmp["tables"].items():
            share = c.get("time_proportional_share", {})
            share_text = " / ".join("n/a" if share.get(k) is None else f"{share[k]:.0%}"
                                    for k in ("baseline", "pruned")) if share else "n/a"
            lines.append(f"| {t} | {_fmt_pj(c['baseline_energy_pj'])} | {_fmt_pj(c['energy_pj'])} "
                         f"| {fmt(c['energy_ratio'])} | {fmt(c.get('event_energy_ratio'))} | {share_text} "
                         f"| {PAPER_ENERGY_RATIO_P3}x |")
        lines += ["", "The event-only ratio leaves out clock, leakage and DRAM background, which are paid per "
                  "cycle whatever the hardware does; the share column is their part of each run's energy."]
        if section.get("shared"):
            lines += [f"Figures the tables share: {section['shared']}."]
        lines.append("")
    lines += ["Energy per component (pruned run):", "",
              "| component | " + " | ".join(tables) + " |", "|---|" + "---:|" * len(tables)]
    for comp in COMPONENT_ORDER:
        vals = [section["totals"][t]["components_pj"].get(comp, 0.0) for t in tables]
        if not any(vals):
            continue
        lines.append(f"| {COMPONENT_LABELS[comp]} | " + " | ".join(_fmt_pj(v) for v in vals) + " |")
    lines.append("| **total** | " + " | ".join(f"**{_fmt_pj(section['totals'][t]['energy_pj'])}**"
                                              for t in tables) + " |")
    lines += ["", "Energy per layer:", "", "| layer | " + " | ".join(tables) + " |",
              "|---|" + "---:|" * len(tables)]
    for entry in section["layers"]:
        lines.append(f"| {entry['name']} | " + " | ".join(_fmt_pj(entry["energy_pj"].get(t, 0.0))
                                                         for t in tables) + " |")
    lines.append("")
    return "\n".join(lines)


def plot_energy(section: dict, path, *, title: str | None = None) -> Path:
    """Stacked bars of energy per component for every layer (one panel per table).

    With a baseline in the section, its total is drawn as a last bar and the
    ratio is written beside the paper's 2.73x.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tables = list(section["totals"])
    fig, axes = plt.subplots(1, len(tables), figsize=(5.5 * len(tables), 5.0), squeeze=False)
    colors = plt.get_cmap("tab10").colors
    for ax, table in zip(axes[0], tables):
        bars = [(e["name"], e["components_pj"][table]) for e in section["layers"]]
        if "baseline" in section and table in section["baseline"]["totals"]:
            bars.append(("baseline\n(total)", section["baseline"]["totals"][table]["components_pj"]))
        if len(bars) > 1 and len(section["layers"]) > 1:
            bars.insert(len(section["layers"]), ("pruned\n(total)", section["totals"][table]["components_pj"]))
        x = range(len(bars))
        bottom = [0.0] * len(bars)
        for i, comp in enumerate(COMPONENT_ORDER):
            vals = [b[1].get(comp, 0.0) * 1e-6 for b in bars]      # pJ -> uJ
            if not any(vals):
                continue
            ax.bar(x, vals, bottom=bottom, label=COMPONENT_LABELS[comp], color=colors[i % len(colors)])
            bottom = [b + v for b, v in zip(bottom, vals)]
        ax.set_xticks(list(x), [b[0] for b in bars], fontsize=8)
        ax.set_ylabel("energy (uJ)")
        ax.set_title(table)
        cmp = section.get("comparison", {}).get("tables", {}).get(table)
        if cmp and cmp["energy_ratio"] is not None:
            ax.text(0.02, 0.97, f"baseline / pruned = {cmp['energy_ratio']:.2f}x\npaper: {PAPER_ENERGY_RATIO_P3}x",
                    transform=ax.transAxes, va="top", fontsize=9,
                    bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.8})
    handles = {}
    for ax in axes[0]:
        for h, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, h)
    labels = [COMPONENT_LABELS[c] for c in COMPONENT_ORDER if COMPONENT_LABELS[c] in handles]
    fig.legend([handles[l] for l in labels], labels, loc="lower center", ncol=min(5, len(labels)),
               fontsize=8, frameon=False)
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.06 * (1 + (len(labels) - 1) // 5), 1, 1))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
