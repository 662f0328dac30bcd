"""Accelerator controller in the Amaranth simulator: small, fast, exhaustive on timing.

Checks results bit for bit against the hardware-order golden model and every
cycle counter against the cycle model, including the accumulator-dependency
stall (a single M-tile with several K-tiles and a short batch).
"""

import numpy as np
import pytest
from amaranth.sim import Simulator

from hw.accelerator import COUNTERS, MEM_BIAS, MEM_INPUTS, MEM_WEIGHTS, Accelerator
from hw.config import AcceleratorParams, ArrayParams
from sim.designs.accel.accel_layout import bias_image, input_image, output_from_image, weight_image
from sim.golden import gemm, perf


def _pack(row):
    value = 0
    for i, word in enumerate(row):
        value |= int(word) << (32 * i)
    return value


def run_amaranth(params, W, X, bias, relu, descriptor=None, sample_ready=False):
    """Load the scratchpads, run one layer, read the results back.  With ``sample_ready``
    the bench also reads, every running cycle, the newest word the result port calls
    ready (``out["samples"]``: (cycle, ready, address, data))."""
    dut = Accelerator(params)
    R, C = params.rows, params.cols
    M, K = W.shape
    N = X.shape[1]
    out = {}

    async def bench(ctx):
        images = [(MEM_WEIGHTS, weight_image(W, R, C)), (MEM_INPUTS, input_image(X, R))]
        if bias is not None:
            images.append((MEM_BIAS, bias_image(bias, C)))
        for sel, image in images:
            for addr, row in enumerate(image):
                ctx.set(dut.wr.en, 1)
                ctx.set(dut.wr.mem, sel)
                ctx.set(dut.wr.addr, addr)
                ctx.set(dut.wr.data, _pack(row))
                await ctx.tick()
        ctx.set(dut.wr.en, 0)
        dm, dk, dn = descriptor or (M, K, N)
        ctx.set(dut.layer.m, dm)
        ctx.set(dut.layer.k, dk)
        ctx.set(dut.layer.n, dn)
        ctx.set(dut.layer.use_bias, int(bias is not None))
        ctx.set(dut.layer.relu, int(relu))
        ctx.set(dut.layer.start, 1)
        await ctx.tick()
        ctx.set(dut.layer.start, 0)
        samples = []
        for cycle in range(20000):
            ready = ctx.get(dut.rd.ready) if sample_ready else 0
            if ready:
                ctx.set(dut.rd.en, 1)
                ctx.set(dut.rd.addr, ready - 1)
            await ctx.tick()
            if ready:        # the word read at the edge
                samples.append((cycle, ready, ready - 1, ctx.get(dut.rd.data)))
            if ctx.get(dut.layer.done):
                break
        else:
            raise AssertionError("watchdog: accelerator never raised done")
        out["samples"] = samples
        out["error"] = ctx.get(dut.layer.error)
        out["counters"] = {c: ctx.get(getattr(dut.cycles, c)) for c in COUNTERS}
        words = []
        ctx.set(dut.rd.en, 1)
        for addr in range(-(-M // C) * N):
            ctx.set(dut.rd.addr, addr)
            await ctx.tick()
            data = ctx.get(dut.rd.data)
            words.append([(data >> (32 * c)) & 0xFFFFFFFF for c in range(C)])
        out["Y"] = output_from_image(np.array(words, np.uint32), M, N, C)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return out


SHAPES = [  # (R, C, M, K, N)
    (2, 2, 2, 2, 3),        # one tile
    (2, 3, 7, 9, 12),       # partial tiles in M and K, weight loads hidden
    (2, 3, 3, 10, 2),       # one M-tile, short batch: accumulator-dependency stalls
    (3, 2, 5, 4, 1),        # N = 1: weight-load bound
    (1, 1, 2, 3, 3),
]


@pytest.mark.parametrize("R,C,M,K,N", SHAPES)
def test_layer_bit_exact_and_cycles(R, C, M, K, N, rng):
    array = ArrayParams(rows=R, cols=C)
    params = AcceleratorParams(array, weight_words=128, input_words=128, acc_words=128, bias_words=8)
    W = rng.standard_normal((M, K)).astype(np.float32)
    X = rng.standard_normal((K, N)).astype(np.float32)
    bias = rng.standard_normal(M).astype(np.float32) if M % 2 else None
    relu = bool(N % 2)
    out = run_amaranth(params, W, X, bias, relu)
    assert out["error"] == 0
    verdict = gemm.compare(out["Y"], gemm.linear(W, X, bias, relu))
    assert verdict["bit_exact"], verdict
    model = perf.cycles(array, M, K, N)
    assert out["counters"] == model
    counters = out["counters"]
    assert counters["total"] == sum(counters[k] for k in ("setup", "compute", "weight_wait", "stall", "drain"))


@pytest.mark.parametrize("R,C,M,K,N", [(2, 3, 7, 9, 12), (2, 3, 3, 10, 2), (3, 2, 5, 7, 1)])
def test_results_ready_counts_only_final_words(R, C, M, K, N, rng):
    """The result port's ``ready`` (what an early write-back may read) rises word by word
    during the last K-tile, never past a word that will still change, and covers every
    word once the array is done."""
    array = ArrayParams(rows=R, cols=C)
    params = AcceleratorParams(array, weight_words=128, input_words=128, acc_words=128, bias_words=8)
    W = rng.standard_normal((M, K)).astype(np.float32)
    X = rng.standard_normal((K, N)).astype(np.float32)
    out = run_amaranth(params, W, X, None, True, sample_ready=True)
    words, samples = -(-M // C) * N, out["samples"]
    readies = [ready for _, ready, _, _ in samples]
    assert readies == sorted(readies) and max(readies) <= words
    assert readies[0] < words and len(set(readies)) > 1      # it rises while the array runs
    for cycle, _, addr, data in samples:     # each word read early already holds its final value
        mt, n = divmod(addr, N)
        final = [int(v) for v in out["Y"].view(np.uint32)[mt * C:(mt + 1) * C, n]]
        lanes = [(data >> (32 * c)) & 0xFFFFFFFF for c in range(len(final))]
        assert lanes == final, f"cycle {cycle}: word {addr} read {lanes}, final {final}"


# (R, C, La, M, K, N): more K-rows than columns, so a weight stream outlasts a
# tile and the next one overlaps it (two stream engines, one read port)
STREAM_SHAPES = [
    (6, 3, 2, 7, 20, 1),    # streams overlap; the La-parity rule delays starts
    (5, 4, 3, 9, 11, 2),    # La = 3
    (4, 2, 1, 5, 9, 2),     # La = 1: streams may not overlap at all
    (8, 2, 2, 3, 17, 9),    # N > tile period: weights hidden
]


@pytest.mark.parametrize("R,C,La,M,K,N", STREAM_SHAPES)
def test_overlapping_weight_streams(R, C, La, M, K, N, rng):
    array = ArrayParams(rows=R, cols=C, add_latency=La)
    params = AcceleratorParams(array, weight_words=128, input_words=128, acc_words=128, bias_words=8)
    W = rng.standard_normal((M, K)).astype(np.float32)
    X = rng.standard_normal((K, N)).astype(np.float32)
    out = run_amaranth(params, W, X, None, False)
    assert out["error"] == 0
    verdict = gemm.compare(out["Y"], gemm.linear(W, X, None, False))
    assert verdict["bit_exact"], verdict
    assert out["counters"] == perf.cycles(array, M, K, N)


def test_stream_rules_are_exercised():
    """Guard: the overlap rules shape the tile period of the shapes above (else they prove nothing)."""
    for R, C, La, M, K, N in STREAM_SHAPES[:3]:
        array = ArrayParams(rows=R, cols=C, add_latency=La)
        assert array.stream_cycles > array.min_tile_period > array.load_after + 2 or La == 1, (R, C, La)
    assert ArrayParams(rows=4, cols=2, add_latency=1).min_tile_period == 4     # = R, not C
    assert ArrayParams(rows=32, cols=32).min_tile_period == 33                  # 32 is even: + 1


def test_32x32_tile_period_model():
    """The issue's target: 16 tiles of N = 16 on 32x32 cost 33 cycles each, not 126.

    The hardware counters equal this model (above, and the Verilator tests),
    so it pins the controller's timing on the full-size array.
    """
    array = ArrayParams(rows=32, cols=32)
    model = perf.cycles(array, 128, 128, 16)
    assert model["stall"] == 0
    assert model["total"] == 3 + 2 + 15 * 33 + 16 + array.latency + 2
    assert model["weight_wait"] == 2 + 15 * (33 - 16)


def test_dependency_stall_is_exercised(rng):
    """Guard: the stall shape above really stalls (otherwise the test proves nothing)."""
    assert perf.cycles(ArrayParams(rows=2, cols=3), 3, 10, 2)["stall"] > 0


@pytest.mark.parametrize("descriptor", [(0, 4, 2), (4, 0, 2), (4, 4, 0), (4, 4, 200)])
def test_bad_descriptor_sets_error(descriptor, rng):
    params = AcceleratorParams(ArrayParams(rows=2, cols=2), weight_words=32, input_words=32, acc_words=32,
                               bias_words=4)
    W = rng.standard_normal((4, 4)).astype(np.float32)
    X = rng.standard_normal((4, 2)).astype(np.float32)
    out = run_amaranth(params, W, X, None, False, descriptor=descriptor)
    assert out["error"] == 1
    assert out["counters"]["compute"] == 0, "an invalid descriptor must not run"
