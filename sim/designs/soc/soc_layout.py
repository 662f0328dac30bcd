"""DRAM images for SoC layers: scratchpad words padded to whole bus beats.

The DMA moves scratchpad words; in DRAM each word of L floats occupies
``ceil(32*L / W)`` beats of W bits (lane 0 at the lowest address, padding
lanes zero), so a layer's weights, inputs, bias and outputs are contiguous
regions the host can place anywhere bus-aligned.
"""

import math
from dataclasses import dataclass

import numpy as np

from sim.designs.accel.accel_layout import bias_image, input_image, output_from_image, weight_image, words_needed

PAGE = 4096          # the interconnect interleaves memory ports by 4 KiB page (hw/interconnect.py)


def port_of_page(page: int, ports: int) -> tuple[int, int]:
    """(memory port, page within that port) of global page ``page``."""
    return page % ports, page // ports


def word_bytes(lanes: int, bus_width: int) -> int:
    beat = bus_width // 8
    return -(-4 * lanes // beat) * beat


def to_dram(image: np.ndarray, bus_width: int) -> bytes:
    """(words, lanes) uint32 -> little-endian bytes with each word padded to whole beats."""
    words, lanes = image.shape
    padded_lanes = word_bytes(lanes, bus_width) // 4
    out = np.zeros((words, padded_lanes), np.uint32)
    out[:, :lanes] = image
    return out.astype("<u4").tobytes()


def from_dram(data: bytes, words: int, lanes: int, bus_width: int) -> np.ndarray:
    padded_lanes = word_bytes(lanes, bus_width) // 4
    arr = np.frombuffer(data, "<u4")[:words * padded_lanes].reshape(words, padded_lanes)
    return np.ascontiguousarray(arr[:, :lanes])


@dataclass
class LayerPlacement:
    """Where one layer's regions live in DRAM (byte addresses)."""

    w_addr: int
    x_addr: int
    b_addr: int
    y_addr: int
    y_bytes: int
    end: int


def layer_placement(M: int, K: int, N: int, has_bias: bool, rows, cols, bus_width, base: int) -> LayerPlacement:
    """Where an M x K layer on N inputs lies from ``base``: its sizes alone, no images built."""
    align = max(64, bus_width // 8)
    for lanes in (rows, cols):          # whole words per page (several memory ports read by page)
        size = word_bytes(lanes, bus_width)
        if size & (size - 1) == 0:
            align = max(align, size)
    words = words_needed(M, K, N, rows, cols)
    sizes = {"w": words["weight_words"] * word_bytes(cols, bus_width),
             "x": words["input_words"] * word_bytes(rows, bus_width),
             "b": words["bias_words"] * word_bytes(cols, bus_width) if has_bias else 0,
             "y": words["acc_words"] * word_bytes(cols, bus_width)}
    addr, addrs = base, {}
    for key in ("w", "x", "b", "y"):
        addrs[key] = addr
        addr = -(-(addr + sizes[key]) // align) * align
    return LayerPlacement(addrs["w"], addrs["x"], addrs["b"], addrs["y"], sizes["y"], addr)


def phase_window(ends, ports: int) -> int:
    """Bytes of the DRAM window each accelerator of a phase gets: whole pages holding the
    largest layer (``ends``: each layer's end from address 0), a number of pages that
    shares no factor with ``ports``.  Consecutive windows then start on different memory
    ports, so accelerators loading their small inputs at the same time spread over the
    ports instead of all queueing on port 0."""
    pages = max([1] + [-(-end // PAGE) for end in ends])
    while math.gcd(pages, ports) != 1:
        pages += 1
    return pages * PAGE


def place_layer(W, X, bias, rows, cols, bus_width, base: int) -> tuple[LayerPlacement, dict]:
    """Lay one layer out from ``base``; return the placement and {addr: bytes} to write."""
    place = layer_placement(W.shape[0], W.shape[1], X.shape[1], bias is not None, rows, cols, bus_width, base)
    writes = {place.w_addr: to_dram(weight_image(W, rows, cols), bus_width),
              place.x_addr: to_dram(input_image(X, rows), bus_width)}
    if bias is not None:
        writes[place.b_addr] = to_dram(bias_image(bias, cols), bus_width)
    return place, writes


def read_output(data: bytes, M: int, N: int, cols: int, bus_width: int) -> np.ndarray:
    words = -(-M // cols) * N
    return output_from_image(from_dram(data, words, cols, bus_width), M, N, cols)
