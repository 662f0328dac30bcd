"""A progress bar for long loops (training, partition search, sweeps).

tqdm is a declared dependency; this wrapper only fixes the options every caller
wants: ``disable=None`` draws only on a terminal, so logs and tests stay clean,
and ``leave=False`` erases the bar when the loop ends.
"""

from __future__ import annotations

from tqdm import tqdm


def bar(total: int, desc: str = "", unit: str = "it") -> tqdm:
    """A progress bar over `total` steps, drawn only on a terminal."""
    return tqdm(total=total, desc=desc, unit=unit, leave=False, disable=None)
