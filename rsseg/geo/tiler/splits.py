"""The train/val/test split of a run's scenes: deterministic, by scene (never by chip), published splits kept."""
import random
from typing import Dict, Optional, Sequence


def assign_splits(names: Sequence[str], fractions: Sequence[float], seed: int,
                  fixed: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """Deterministic train/val/test split **by scene**.

    Scenes in ``fixed`` keep their split. The others are sorted by name, shuffled with ``random.Random(seed)`` and
    cut by the fractions (rounded; every split with a positive fraction gets at least one scene when there are
    enough scenes), so the result depends only on the set of names, the fractions and the seed.
    """
    fixed = fixed or {}
    out = {n: fixed[n] for n in names if n in fixed}
    free = sorted(n for n in names if n not in fixed)
    random.Random(seed).shuffle(free)
    n = len(free)
    counts = [int(round(f * n)) for f in fractions]
    positive = [i for i, f in enumerate(fractions) if f > 0]
    if n >= len(positive):
        for i in positive:
            if counts[i] == 0:
                counts[i] = 1
    while sum(counts) > n:
        floor = [1 if (fractions[k] > 0 and n >= len(positive)) else 0 for k in range(3)]
        movable = [k for k in range(3) if counts[k] > floor[k]] or [k for k in range(3) if counts[k] > 0]
        i = max(movable, key=lambda k: (counts[k] - fractions[k] * n, counts[k]))
        counts[i] -= 1
    counts[0] += n - sum(counts)
    split_names = ('train', 'val', 'test')
    pos = 0
    for i, c in enumerate(counts):
        for name in free[pos:pos + c]:
            out[name] = split_names[i]
        pos += c
    return out
