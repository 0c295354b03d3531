"""The distributed runner's budget arithmetic, without Ray."""

from __future__ import annotations

import pytest

from handoffq.runtime.ray.budget import MIN_CHUNK, chunk_size, episode_seed_base, slot_range, split_budget


def test_split_budget_is_even_and_exact() -> None:
    for n in (0, 1, 7, 1000, 1001):
        for m in (1, 2, 3, 8):
            shares = split_budget(n, m)
            assert sum(shares) == n and max(shares) - min(shares) <= 1
    with pytest.raises(ValueError):
        split_budget(10, 0)


def test_chunk_size() -> None:
    assert chunk_size(100) == MIN_CHUNK and chunk_size(100_000) == 5000 and chunk_size(10, chunk=3) == 3
    with pytest.raises(ValueError):
        chunk_size(10, chunk=0)


def test_slot_ranges_and_seeds_do_not_overlap() -> None:
    ranges = [set(slot_range(e, 4)) for e in range(3)]
    assert all(not (a & b) for i, a in enumerate(ranges) for b in ranges[i + 1:])
    bases = {episode_seed_base(0, e, g) for e in range(4) for g in range(4)}
    assert len(bases) == 16 and min(b2 - b1 for b1, b2 in zip(sorted(bases), sorted(bases)[1:])) > 10**5
