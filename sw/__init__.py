"""sw: Partition Pruning and the related pruning methods, on real trained models.

    from sw.partition import partition_prune      # one weight matrix -> PartitionPlan
    from sw import prune                           # torch.nn.utils.prune methods
    prune.prune_model(model, "partition", partitions=3)

Modules: partition (plan + checks), partition_opt (default optimiser),
partition_baselines (paper greedy, random, spectral co-clustering), prune, models,
data, train, export (the plan file for `sim`), bench, cli (``python -m sw``).
`sw` never imports `hw` or `sim`.
"""

from .errors import PruningError
from .partition import PartitionPlan, partition_prune

__all__ = ["PartitionPlan", "PruningError", "partition_prune"]
