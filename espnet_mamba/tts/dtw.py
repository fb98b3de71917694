"""Dynamic time warping of two feature sequences (numba, O(T1 * T2) time and memory).

Steps (1, 0), (0, 1) and (1, 1), each adding the Euclidean distance of the two frames it
reaches; the path runs from (0, 0) to (T1 - 1, T2 - 1).  Ties go to the diagonal, then
to advancing the first sequence.
"""
from typing import Tuple

import numba
import numpy as np


def pairwise_distances(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Euclidean distances between the frames of x (T1, D) and y (T2, D): (T1, T2)."""
    sq = (x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2.0 * x @ y.T
    return np.sqrt(np.maximum(sq, 0.0))


@numba.njit(cache=True)
def _accumulate(dist: np.ndarray) -> np.ndarray:
    n, m = dist.shape
    acc = np.full((n, m), np.inf)
    acc[0, 0] = dist[0, 0]
    for i in range(n):
        for j in range(m):
            if i == 0 and j == 0:
                continue
            best = np.inf
            if i > 0 and j > 0:
                best = acc[i - 1, j - 1]
            if i > 0 and acc[i - 1, j] < best:
                best = acc[i - 1, j]
            if j > 0 and acc[i, j - 1] < best:
                best = acc[i, j - 1]
            acc[i, j] = best + dist[i, j]
    return acc


@numba.njit(cache=True)
def _backtrack(acc: np.ndarray) -> np.ndarray:
    i, j = acc.shape[0] - 1, acc.shape[1] - 1
    path = np.empty((i + j + 1, 2), dtype=np.int64)
    k = 0
    path[k] = (i, j)
    while i > 0 or j > 0:
        if i > 0 and j > 0:
            diagonal, up, left = acc[i - 1, j - 1], acc[i - 1, j], acc[i, j - 1]
            if diagonal <= up and diagonal <= left:
                i, j = i - 1, j - 1
            elif up <= left:
                i -= 1
            else:
                j -= 1
        elif i > 0:
            i -= 1
        else:
            j -= 1
        k += 1
        path[k] = (i, j)
    return path[k::-1].copy()


def dtw(x: np.ndarray, y: np.ndarray) -> Tuple[float, np.ndarray]:
    """Align x (T1, D) with y (T2, D).

    Returns:
        The total distance along the best path, and the path (L, 2): index pairs
        (into x, into y), from (0, 0) to (T1 - 1, T2 - 1).

    Raises:
        ValueError: an empty sequence or a dimension mismatch.
    """
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"need two (frames, dim) arrays of one dim; got {x.shape}, {y.shape}")
    if len(x) == 0 or len(y) == 0:
        raise ValueError(f"cannot align an empty sequence ({len(x)} and {len(y)} frames)")
    acc = _accumulate(pairwise_distances(np.asarray(x, np.float64), np.asarray(y, np.float64)))
    return float(acc[-1, -1]), _backtrack(acc)
