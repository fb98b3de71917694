"""Packing a variable-length prefix directly before a sequence, for causal models."""
from typing import Tuple

import torch

from espnet_mamba.modules.padding import mask_frames


def pack_prefix(prefix: torch.Tensor, prefix_lens: torch.Tensor, seq: torch.Tensor
                ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Per utterance ``[prefix[:prefix_len] ; seq ; padding]``.

    A causal model run on the result sees each utterance's real prefix immediately
    before its sequence, never padding in between.

    Args:
        prefix: (batch, S, D), e.g. encoder memory or embedded text.
        prefix_lens: (batch,) real prefix lengths.
        seq: (batch, L, D) the sequence that follows (its own padding, if any, stays at
            its end, after the utterance's real content).

    Returns:
        The packed (batch, S + L, D), zero past ``prefix_len + L``, and the position of
        each ``seq`` element in it, (batch, L).
    """
    batch, S, _ = prefix.shape
    L = seq.shape[1]
    j = torch.arange(S + L, device=prefix.device)[None, :]
    lens = prefix_lens.to(prefix.device)[:, None]
    # Where packed position j reads from in cat([prefix, seq]).
    source = torch.where(j < lens, j, (S + j - lens).clamp(max=S + L - 1))
    both = torch.cat([prefix, seq], dim=1)
    packed = both.gather(1, source.unsqueeze(-1).expand(-1, -1, both.shape[-1]))
    packed = mask_frames(packed, lens[:, 0] + L)
    return packed, lens + torch.arange(L, device=prefix.device)[None, :]
