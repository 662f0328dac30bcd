"""SCALE-Sim's analytical weight-stationary cycle count, for side-by-side figures.

SCALE-Sim (Samajdar et al., ``pip install scalesim``) charges a
weight-stationary fold ``2R + C + T - 2`` cycles (T = number of input
vectors): R to load the weights, then the input skew, T vectors and the
output drain, with no overlap of the next fold's weight load.  A GEMM of
M x K weights on an R x C array has ceil(K/R) * ceil(M/C) folds.
"""


def ws_cycles(rows: int, cols: int, M: int, K: int, N: int) -> int:
    folds = -(-K // rows) * -(-M // cols)
    return folds * (2 * rows + cols + N - 2)
