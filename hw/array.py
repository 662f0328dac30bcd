"""R x C weight-stationary FP32 systolic array with its skew and de-skew."""

from amaranth.hdl import Cat, Module, Value
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .config import ArrayParams
from .delay import delay
from .pe_row import PERow


def lanes(word) -> data.View:
    """A vector of FP32 values as an array of lanes, lane 0 in the low bits."""
    word = Value.cast(word)
    return data.View(data.ArrayLayout(32, len(word) // 32), word)


class SystolicArray(wiring.Component):
    """One vector in per cycle, one de-skewed output row per cycle.

    ``x`` (R floats) and ``psum`` (C floats, the value each column starts
    accumulating from) enter together; ``y`` (C floats) leaves exactly
    ``params.latency`` = R*La + Lm + C - 1 cycles later, with ``tag`` delayed
    alongside so the caller needs no knowledge of the pipeline.

    Timing (La, Lm: adder and multiplier latencies): the activation of row r
    is delayed r*La cycles and moves right one PE per cycle, so it meets, in
    PE (r, c), the partial sum from PE (r-1, c) exactly when the product is
    ready.  Column c's starting psum is delayed c + Lm, and column c's result
    C-1-c, so all columns leave together.  Output column c accumulates
    psum[c] + sum_r w[r][c] * x[r] in row order r = 0, 1, ..., R-1.

    Weights: ``w_row`` (C floats) is broadcast down the columns, and bit r of
    ``w_we`` writes it into row r's shadow registers (the controller sets at
    most one bit per cycle).  A vector with ``first`` set switches each PE to
    its shadow weight as it passes, reaching PE (r, c) r*La + c cycles after
    it entered, so a row's shadow may be rewritten once the wave has passed
    its last PE -- rows are written one by one behind the wave.

    Each row of C PEs is a :class:`~hw.pe_row.PERow` (``row_factory``): the
    Verilog generator places it as one module, which simulators build once.
    """

    def __init__(self, params: ArrayParams = ArrayParams(), *, tag_width: int = 1, row_factory=None):
        self.params = params
        self.tag_width = tag_width
        self._row_factory = row_factory or (lambda: PERow(params))
        R, C = params.rows, params.cols
        # the vectors are plain bit vectors at the ports (a layout-shaped port would make
        # Amaranth emit one alias wire per lane, which the toggle capture would count
        # again); inside, they are read as FP32 lanes through `lanes`
        super().__init__({
            "in_valid": In(1), "in_first": In(1), "x": In(32 * R), "psum": In(32 * C),
            "tag_in": In(tag_width),
            "w_we": In(R), "w_row": In(32 * C),
            "out_valid": Out(1), "y": Out(32 * C), "tag_out": Out(tag_width),
        })

    def elaborate(self, platform):
        m = Module()
        p = self.params
        R, C, La, Lm = p.rows, p.cols, p.add_latency, p.mul_latency

        x, psum = lanes(self.x), lanes(self.psum)
        rows = []
        for r in range(R):
            m.submodules[f"row{r}"] = row = self._row_factory()
            rows.append(row)
            m.d.comb += [
                row.a_in.eq(delay(m, x[r], r * La, f"x_r{r}")),
                row.a_valid_in.eq(delay(m, self.in_valid, r * La, f"xv_r{r}")),
                row.a_first_in.eq(delay(m, self.in_first, r * La, f"xf_r{r}")),
                row.w_we.eq(self.w_we[r]), row.w_in.eq(self.w_row),
                row.psum_in.eq(Cat(*(delay(m, psum[c], c + Lm, f"ps_c{c}") for c in range(C)))
                               if r == 0 else rows[r - 1].psum_out),
            ]
        bottom = lanes(rows[-1].psum_out)
        outputs = [delay(m, bottom[c], C - 1 - c, f"y_c{c}") for c in range(C)]

        m.d.comb += [
            self.y.eq(Cat(*outputs)),
            self.out_valid.eq(delay(m, self.in_valid, p.latency, "out_valid")),
            self.tag_out.eq(delay(m, self.tag_in, p.latency, "tag")),
        ]
        return m
