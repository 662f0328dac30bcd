"""sw.partition: the PartitionPlan contract, the optimisers and the input checks."""

import itertools

import numpy as np
import pytest
import torch

from sw import partition_opt
from sw.errors import PruningError
from sw.partition import partition_prune, plan_from_groups, topk_retained


def _sizes_ok(labels, parts):
    counts = np.bincount(labels, minlength=parts)
    return counts.min() >= 1 and counts.max() - counts.min() <= 1 and counts.sum() == labels.size


def _planted(rng, m, n, parts, noise=0.3):
    """A block-diagonal |W| with balanced blocks, rows and columns shuffled."""
    rows = np.arange(m) % parts
    cols = np.arange(n) % parts
    inside = rows[:, None] == cols[None, :]
    W = np.where(inside, rng.uniform(0.5, 1.5, (m, n)), rng.uniform(0, noise, (m, n)))
    W *= rng.choice([-1, 1], size=(m, n))
    pr, pc = rng.permutation(m), rng.permutation(n)
    return W[pr][:, pc], inside[pr][:, pc]


@pytest.mark.parametrize("method", ["default", "greedy", "spectral", "random"])
def test_contract_on_random_shapes(method):
    seed = 1234
    print(f"seed={seed}")
    rng = np.random.default_rng(seed)
    cases = [(7, 7, 7), (5, 9, 5), (10, 11, 3), (13, 4, 4), (31, 17, 2), (20, 30, 6)]
    cases += [(int(rng.integers(2, 40)), int(rng.integers(2, 40)), 0) for _ in range(6)]
    for m, n, P in cases:
        P = P or int(rng.integers(1, min(m, n) + 1))
        W = rng.standard_normal((m, n))
        plan = partition_prune(W, P, seed=3, method=method)
        assert plan.mask.shape == (m, n) and plan.mask.dtype == bool
        assert plan.row_groups.shape == (m,) and plan.col_groups.shape == (n,)
        assert _sizes_ok(plan.row_groups, P), (m, n, P, np.bincount(plan.row_groups))
        assert _sizes_ok(plan.col_groups, P), (m, n, P, np.bincount(plan.col_groups))
        assert np.array_equal(plan.mask, plan.row_groups[:, None] == plan.col_groups[None, :])
        kept = np.abs(W)[plan.mask].sum() / np.abs(W).sum()
        assert plan.retained == pytest.approx(kept)
        blocks = plan.blocks(W)
        assert sum(b.size for b in blocks) == plan.mask.sum()
        for p, b in enumerate(blocks):
            assert np.array_equal(b, W[np.ix_(plan.rows(p), plan.cols(p))])


def test_torch_weight_and_p_equal_rows():
    layer = torch.nn.Linear(6, 4)
    plan = partition_prune(layer.weight, 4)
    assert np.bincount(plan.row_groups).tolist() == [1, 1, 1, 1]
    assert sorted(np.bincount(plan.col_groups).tolist()) == [1, 1, 2, 2]
    assert plan.density == pytest.approx(6 / 24)


def test_one_partition_keeps_everything_and_zero_matrix():
    plan = partition_prune(np.ones((3, 5)), 1)
    assert plan.mask.all() and plan.retained == 1.0
    zero = partition_prune(np.zeros((6, 6)), 2)
    assert zero.retained == 1.0 and _sizes_ok(zero.row_groups, 2)


@pytest.mark.parametrize("method", ["default", "greedy", "spectral", "random"])
def test_deterministic_for_a_seed(method):
    W = np.random.default_rng(7).standard_normal((40, 50))
    a = partition_prune(W, 3, seed=11, method=method)
    b = partition_prune(W, 3, seed=11, method=method)
    assert np.array_equal(a.row_groups, b.row_groups) and np.array_equal(a.col_groups, b.col_groups)
    assert a.retained == b.retained


def test_plan_is_frozen_and_read_only():
    plan = partition_prune(np.random.default_rng(0).standard_normal((8, 8)), 2)
    with pytest.raises(AttributeError):
        plan.retained = 1.0
    with pytest.raises(ValueError):
        plan.mask[0, 0] = not plan.mask[0, 0]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_default_beats_greedy_and_random(seed):
    print(f"seed={seed}")
    rng = np.random.default_rng(seed)
    for P in (2, 3, 5):
        for W in (rng.standard_normal((60, 90)), rng.laplace(size=(80, 45)), _planted(rng, 45, 60, P, 0.9)[0]):
            d = partition_prune(W, P, seed=seed).retained
            g = partition_prune(W, P, seed=seed, method="greedy").retained
            r = partition_prune(W, P, seed=seed, method="random").retained
            assert d >= g - 1e-12 and d > r, (P, W.shape, d, g, r)


@pytest.mark.parametrize("m,n,P", [(60, 90, 3), (10, 11, 3), (100, 64, 4), (50, 50, 2)])
def test_recovers_planted_block_diagonal(m, n, P):
    seed = m * 1000 + n
    print(f"seed={seed}")
    W, inside = _planted(np.random.default_rng(seed), m, n, P)
    plan = partition_prune(W, P, seed=0)
    assert np.array_equal(plan.mask, inside)
    assert plan.retained == pytest.approx(np.abs(W)[inside].sum() / np.abs(W).sum())


def test_assign_is_exact_against_brute_force():
    seed = 99
    print(f"seed={seed}")
    rng = np.random.default_rng(seed)
    for m, P in [(7, 3), (8, 2), (6, 4), (7, 2)]:
        lo, hi = partition_opt.bounds(m, P)
        balanced = [lab for lab in itertools.product(range(P), repeat=m)
                    if _sizes_ok(np.array(lab), P)]
        for _ in range(5):
            S = rng.standard_normal((m, P))
            best = max(S[np.arange(m), list(lab)].sum() for lab in balanced)
            got = partition_opt.assign(S, partition_opt.balanced_labels(m, P, rng), lo, hi)
            assert _sizes_ok(got, P)
            assert S[np.arange(m), got].sum() == pytest.approx(best)


def test_topk_bound_is_above_every_partition():
    W = np.random.default_rng(5).standard_normal((30, 40))
    plan = partition_prune(W, 3)
    assert topk_retained(W, plan.density) >= plan.retained


def test_plan_from_groups_rejects_unbalanced():
    with pytest.raises(PruningError, match="not balanced"):
        plan_from_groups(np.ones((4, 4)), [0, 0, 0, 1], [0, 1, 0, 1], 2)


@pytest.mark.parametrize("weight,P,match", [
    (np.ones((4, 5)), 0, "at least 1"),
    (np.ones((4, 5)), -2, "at least 1"),
    (np.ones((4, 5)), 5, "larger than"),
    (np.ones((6, 3)), 4, "larger than"),
    (np.ones((4, 5)), 2.5, "integer"),
    (np.ones((2, 3, 4)), 2, "2-D"),
    (np.ones(5), 2, "2-D"),
    (np.array([[1.0, np.nan], [0.0, 1.0]]), 2, "NaN or Inf"),
    (np.array([[1.0, np.inf], [0.0, 1.0]]), 2, "NaN or Inf"),
    (np.zeros((0, 4)), 1, "empty"),
])
def test_bad_input_is_one_line_error(weight, P, match):
    with pytest.raises(PruningError, match=match) as info:
        partition_prune(weight, P)
    assert "\n" not in str(info.value)


def test_unknown_method():
    with pytest.raises(PruningError, match="unknown partition method"):
        partition_prune(np.ones((4, 4)), 2, method="nope")


def test_aligned_partition_keeps_the_given_columns_and_the_best_rows(rng):
    """col_groups fixed (the previous layer's row groups): the rows are assigned exactly,
    checked against every balanced assignment of a small matrix."""
    import itertools
    A = np.abs(rng.standard_normal((6, 7)))
    cols = np.array([0, 1, 2, 0, 1, 2, 0])
    plan = partition_prune(A, 3, col_groups=cols)
    assert np.array_equal(plan.col_groups, cols) and np.bincount(plan.row_groups).tolist() == [2, 2, 2]
    best = max(sum(A[i, cols == g].sum() for i, g in enumerate(rows))
               for rows in set(itertools.permutations([0, 0, 1, 1, 2, 2])))
    assert plan.retained == pytest.approx(best / A.sum())
    assert plan.method == "aligned"


def test_aligned_partition_rejects_bad_columns():
    with pytest.raises(PruningError, match="col_groups must give each of the 4 columns a group in 0..1"):
        partition_prune(np.ones((4, 4)), 2, col_groups=[0, 1, 2, 0])


def test_prune_model_aligns_layers_in_any_registration_order():
    import torch.nn as nn
    from sw.prune import prune_model

    class Net(nn.Module):                          # fc2 registered before fc1, called after it
        def __init__(self):
            super().__init__()
            self.fc2, self.fc1, self.out = nn.Linear(12, 9), nn.Linear(10, 12), nn.Linear(9, 3)

        def forward(self, x):
            return self.out(self.fc2(self.fc1(x).relu()).relu())
    net = Net()
    prune_model(net, "partition", partitions=3, align={"fc2": "fc1"})
    assert np.array_equal(net.fc2.partition_plan.col_groups, net.fc1.partition_plan.row_groups)
    with pytest.raises(PruningError, match="layer fc1 cannot be aligned to fc2: 10 inputs, 9 outputs"):
        prune_model(Net(), "partition", partitions=3, align={"fc1": "fc2"})
