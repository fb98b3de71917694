"""Time-synchronous CTC prefix beam search in time linear in the number of frames.

The same search as ESPnet's ``BeamSearchTimeSync`` without decoder and LM scores
(same candidates, recursions, pruning and scores), but prefixes are nodes of a prefix
tree: extending one, comparing two and using one as a key cost O(1) instead of O(prefix
length).  With tuples, as in ESPnet, every frame costs time proportional to the output
length so far, and a 10-minute recording (about 1800 tokens) spends a minute in the
search alone.
"""
import math
from typing import Dict, List, Tuple

import numpy as np

NEG_INF = float("-inf")


def _logaddexp(a: float, b: float) -> float:
    if a == NEG_INF:
        return b
    if b == NEG_INF:
        return a
    if a > b:
        return a + math.log1p(math.exp(b - a))
    return b + math.log1p(math.exp(a - b))


class PrefixTree:
    """Label prefixes as integer nodes; node 0 is the prefix ``(root_token,)``."""

    def __init__(self, root_token: int):
        self.parent: List[int] = [-1]
        self.token: List[int] = [root_token]
        self.length: List[int] = [1]
        self._children: Dict[Tuple[int, int], int] = {}

    def extend(self, node: int, token: int) -> int:
        """The node of ``prefix(node) + (token,)``."""
        key = (node, token)
        child = self._children.get(key)
        if child is None:
            child = len(self.parent)
            self._children[key] = child
            self.parent.append(node)
            self.token.append(token)
            self.length.append(self.length[node] + 1)
        return child

    def sequence(self, node: int) -> List[int]:
        """The labels of ``node``'s prefix, root first."""
        out = []
        while node >= 0:
            out.append(self.token[node])
            node = self.parent[node]
        return out[::-1]


def time_sync_ctc_search(log_probs: np.ndarray, beam_size: int, pre_beam_size: int,
                         blank: int, sos: int, ctc_weight: float = 1.0,
                         penalty: float = 0.0) -> List[Tuple[List[int], float]]:
    """CTC prefix beam search, one frame at a time.

    Args:
        log_probs: CTC log posteriors, (frames, vocabulary).
        beam_size: Prefixes kept after each frame.
        pre_beam_size: Labels tried at each frame (those scoring at least the
            ``pre_beam_size``-th best; ties included).
        blank: Blank label.
        sos: Start label every prefix begins with.
        ctc_weight: Factor on the CTC prefix score.
        penalty: Score added per label.

    Returns:
        Up to ``beam_size`` ``(labels, score)``, best first; ``labels`` starts with
        ``sos``.
    """
    if len(log_probs) == 0:
        raise ValueError("time_sync_ctc_search needs at least one frame")
    tree = PrefixTree(sos)
    hyps = [0]
    dp: Dict[int, Tuple[float, float]] = {0: (NEG_INF, 0.0)}  # node -> (p_nonblank, p_blank)
    kth = log_probs.shape[1] - pre_beam_size
    scores: Dict[int, float] = {}
    for frame in log_probs:
        threshold = np.partition(frame, kth)[kth]
        cands = np.flatnonzero(frame >= threshold).tolist()
        probs = frame.tolist()
        p_blank = probs[blank]
        hyp_set = set(hyps)
        nxt: Dict[int, Tuple[float, float]] = {}
        new_hyps = set()
        for node in hyps:
            nb_prev, b_prev = dp[node]
            p_prev = _logaddexp(nb_prev, b_prev)
            last = tree.token[node]
            for c in cands:
                if c == blank:
                    nb, b = nxt.get(node, (NEG_INF, NEG_INF))
                    nxt[node] = (nb, _logaddexp(b, probs[c] + p_prev))
                    new_hyps.add(node)
                    continue
                child = tree.extend(node, c)
                nb, b = nxt.get(child, (NEG_INF, NEG_INF))
                if c == last:
                    nb = _logaddexp(nb, probs[c] + b_prev)
                    nb_l, b_l = nxt.get(node, (NEG_INF, NEG_INF))
                    nxt[node] = (_logaddexp(nb_l, probs[c] + nb_prev), b_l)
                else:
                    nb = _logaddexp(nb, probs[c] + p_prev)
                if child not in hyp_set and child in dp:
                    nb_c, b_c = dp[child]
                    b = _logaddexp(b, p_blank + _logaddexp(nb_c, b_c))
                    nb = _logaddexp(nb, probs[c] + nb_c)
                nxt[child] = (nb, b)
                new_hyps.add(child)
        scores = {h: ctc_weight * _logaddexp(*nxt[h]) + penalty * (tree.length[h] - 1)
                  for h in new_hyps}
        hyps = sorted(new_hyps, key=scores.__getitem__, reverse=True)[:beam_size]
        dp = nxt
    return [(tree.sequence(h), scores[h]) for h in hyps]
