"""Turn a list of combinational stage functions into a pipeline of any depth.

A datapath is written once as a list of stages; each stage takes a dict of
named values and returns the dict of values the later stages need.  The
pipeline places ``latency - 1`` register boundaries between stages in the
order the unit prefers (its critical cuts first), then one output register;
latencies beyond the number of cuts add registers after the last stage, where
synthesis retiming can move them.  Data registers load only on valid cycles,
so idle units do not toggle; only the valid bits are reset.
"""

from amaranth.hdl import Signal, Module, Value


def cut_positions(n_stages, latency, preferred_cuts):
    """Return the set of stage indices after which a register is placed.

    ``preferred_cuts`` lists boundaries (1..n_stages-1) best first; the output
    register (after stage n_stages) is always present and extra registers
    beyond the available cuts are stacked at the end.
    """
    internal = latency - 1
    cuts = sorted(preferred_cuts[:internal])
    extra = internal - len(cuts)
    return cuts, extra


def build_pipeline(m: Module, stages, preferred_cuts, latency, in_valid, inputs):
    """Elaborate ``stages`` into ``m`` and return (out_valid, outputs)."""
    assert sorted(preferred_cuts) == list(range(1, len(stages))), \
        "preferred_cuts must name every internal boundary exactly once"
    cuts, extra = cut_positions(len(stages), latency, preferred_cuts)
    valid, values = in_valid, dict(inputs)
    for index, stage in enumerate(stages, start=1):
        values = stage(values)
        if index in cuts:
            valid, values = _register(m, valid, values, f"s{index}")
    for k in range(extra + 1):
        valid, values = _register(m, valid, values, f"out{k}")
    return valid, values


def _register(m, valid, values, tag):
    valid_q = Signal(name=f"valid_{tag}")
    m.d.sync += valid_q.eq(valid)
    registered = {}
    for name, value in values.items():
        value = Value.cast(value)
        reg = Signal(value.shape(), name=f"{name}_{tag}", reset_less=True)
        with m.If(valid):
            m.d.sync += reg.eq(value)
        registered[name] = reg
    return valid_q, registered
