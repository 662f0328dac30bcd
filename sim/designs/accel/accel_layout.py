"""Scratchpad images for one layer, in the accelerator's word layout.

See hw/accelerator.py for the layout.  Images are uint32 arrays of shape
(words, lanes); the hardware pads partial tiles itself, so padding lanes and
rows here are simply zero.
"""

import numpy as np

from sim.core.arith import ceil_div


def weight_image(W: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """W (M x K) -> (KT*MT*R, C) words; tile (kt, mt) row r = W[mt*C + c, kt*R + r]."""
    M, K = W.shape
    KT, MT = ceil_div(K, rows), ceil_div(M, cols)
    padded = np.zeros((MT * cols, KT * rows), np.uint32)
    padded[:M, :K] = np.asarray(W, np.float32).view(np.uint32)
    # (MT, C, KT, R) -> (KT, MT, R, C)
    tiles = padded.reshape(MT, cols, KT, rows).transpose(2, 0, 3, 1)
    return np.ascontiguousarray(tiles.reshape(KT * MT * rows, cols))


def input_image(X: np.ndarray, rows: int) -> np.ndarray:
    """X (K x N) -> (KT*N, R) words; word kt*N + n lane r = X[kt*R + r, n]."""
    K, N = X.shape
    KT = ceil_div(K, rows)
    padded = np.zeros((KT * rows, N), np.uint32)
    padded[:K] = np.asarray(X, np.float32).view(np.uint32)
    return np.ascontiguousarray(padded.reshape(KT, rows, N).transpose(0, 2, 1).reshape(KT * N, rows))


def bias_image(bias: np.ndarray, cols: int) -> np.ndarray:
    """b (M,) -> (MT, C) words."""
    M = bias.shape[0]
    MT = ceil_div(M, cols)
    padded = np.zeros(MT * cols, np.uint32)
    padded[:M] = np.asarray(bias, np.float32).view(np.uint32)
    return padded.reshape(MT, cols)


def output_from_image(words: np.ndarray, M: int, N: int, cols: int) -> np.ndarray:
    """(MT*N, C) result words -> Y (M x N) float32."""
    MT = ceil_div(M, cols)
    y = np.asarray(words, np.uint32).reshape(MT, N, cols).transpose(0, 2, 1).reshape(MT * cols, N)
    return np.ascontiguousarray(y[:M]).view(np.float32)


def words_needed(M: int, K: int, N: int, rows: int, cols: int) -> dict:
    KT, MT = ceil_div(K, rows), ceil_div(M, cols)
    return {"weight_words": KT * MT * rows, "input_words": KT * N, "acc_words": MT * N, "bias_words": MT}
