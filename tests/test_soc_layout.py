"""DRAM layout of SoC layers: the size-only placement agrees with the images the host writes."""

import numpy as np
import pytest

from hw.config import ArrayParams
from hw.soc import SoCParams
from sim.designs.soc.soc_driver import LayerJob, dram_bytes
from sim.designs.soc.soc_layout import (PAGE, layer_placement, phase_window, place_layer, port_of_page, read_output,
                                        word_bytes)

SEED = 20261126
SHAPES = [  # M, K, N, bias, rows, cols, bus width, base
    (300, 784, 16, True, 32, 32, 512, 0),
    (10, 100, 16, False, 4, 4, 64, 4096),
    (7, 5, 3, True, 4, 8, 256, 128),
    (33, 65, 1, True, 8, 4, 32, 64),
]


@pytest.mark.parametrize("M,K,N,bias,R,C,W,base", SHAPES)
def test_images_fill_their_regions_in_order(M, K, N, bias, R, C, W, base):
    print(f"seed {SEED}")
    rng = np.random.default_rng(SEED)
    Wm = rng.standard_normal((M, K)).astype(np.float32)
    X = rng.standard_normal((K, N)).astype(np.float32)
    b = rng.standard_normal(M).astype(np.float32) if bias else None
    place, writes = place_layer(Wm, X, b, R, C, W, base)
    assert place == layer_placement(M, K, N, bias, R, C, W, base)
    align = max(64, W // 8)
    assert place.w_addr == base
    assert all(a % align == 0 for a in (place.x_addr, place.b_addr, place.y_addr, place.end))
    # each image ends at or before the next region, padded by less than one alignment
    bounds = [(place.w_addr, place.x_addr), (place.x_addr, place.b_addr)] + ([(place.b_addr, place.y_addr)] if bias else [])
    assert sorted(writes) == [lo for lo, _ in bounds]
    for lo, hi in bounds:
        assert hi - align < lo + len(writes[lo]) <= hi
    if not bias:
        assert place.b_addr == place.y_addr
    assert place.y_bytes == -(-M // C) * N * word_bytes(C, W)
    assert place.y_addr + place.y_bytes <= place.end < place.y_addr + place.y_bytes + align


def test_read_output_inverts_the_output_layout():
    print(f"seed {SEED}")
    rng = np.random.default_rng(SEED)
    M, N, C, W = 37, 5, 8, 128
    Y = rng.standard_normal((M, N)).astype(np.float32)
    MT = -(-M // C)
    padded = np.zeros((MT * C, N), np.float32)
    padded[:M] = Y
    words = padded.reshape(MT, C, N).transpose(0, 2, 1).reshape(MT * N, C).view(np.uint32)
    lanes = word_bytes(C, W) // 4
    image = np.zeros((MT * N, lanes), np.uint32)
    image[:, :C] = words
    np.testing.assert_array_equal(read_output(image.astype("<u4").tobytes(), M, N, C, W).view(np.uint32),
                                  Y.view(np.uint32))


def test_dram_bytes_from_shapes_matches_the_built_images():
    rng = np.random.default_rng(SEED)
    params = SoCParams(accelerators=3, array=ArrayParams(4, 4), bus_width=128)
    jobs = {p: LayerJob(rng.standard_normal((m, k)).astype(np.float32),
                        rng.standard_normal((k, 6)).astype(np.float32),
                        rng.standard_normal(m).astype(np.float32) if p else None, True)
            for p, (m, k) in enumerate([(40, 300), (9, 17), (64, 64)])}
    ends = []
    for job in jobs.values():
        place, writes = place_layer(job.W, job.X, job.bias, 4, 4, 128, base=0)
        ends.append(max([place.end] + [a + len(d) for a, d in writes.items()]))
    assert dram_bytes(params, jobs) == max(-(-e // PAGE) * PAGE for e in ends) * 3


@pytest.mark.parametrize("ports", [1, 2, 3, 4])
def test_windows_start_on_every_port_in_turn(ports):
    """Each accelerator's window holds the largest layer in whole pages, and consecutive windows
    start on consecutive ports (the page count shares no factor with the ports)."""
    for largest in (1, 2 * PAGE, 6 * PAGE - 5, 12 * PAGE):
        window = phase_window([largest // 2, largest], ports)
        pages = window // PAGE
        assert window % PAGE == 0 and largest <= window < largest + ports * PAGE
        starts = [port_of_page(i * pages, ports)[0] for i in range(ports)]
        assert sorted(starts) == list(range(ports)), (largest, ports, starts)


def test_pages_interleave_over_ports():
    assert [port_of_page(p, 2) for p in range(5)] == [(0, 0), (1, 0), (0, 1), (1, 1), (0, 2)]
    assert [port_of_page(p, 1) for p in range(3)] == [(0, 0), (0, 1), (0, 2)]
