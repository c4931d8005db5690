"""Reciprocal-rank fusion: several rankings of the same documents → one.

Each ranking gives a document ``1 / (RRF_K + rank)`` (rank 1 = best); a
document's fused score is the sum over the rankings it appears in. Only ranks
count, never the rankers' own scores, so BM25 scores and cosines need no common
scale. Equal fused scores are ordered by document number (the earlier first).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

RRF_K = 60  # the usual constant (Cormack et al., 2009): damps the weight of the very top


def reciprocal_rank_fusion(
    rankings: Iterable[Sequence[int]], *, rrf_k: int = RRF_K
) -> list[tuple[int, float]]:
    """(document, fused score) pairs, best first."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        seen: set[int] = set()
        for rank, doc in enumerate(ranking, start=1):
            if doc in seen:
                continue
            seen.add(doc)
            scores[doc] = scores.get(doc, 0.0) + 1.0 / (rrf_k + rank)
    return sorted(scores.items(), key=lambda item: (-round(item[1], 12), item[0]))
