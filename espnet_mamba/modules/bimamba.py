"""Bidirectional Mamba: Vim's "v2" inner variant and the two-block outer variant.

The backward direction reverses each utterance within its own length, so it starts at
the utterance's last real frame and a padded batch gives every utterance the output it
would get alone.
"""
from typing import Optional

import torch
import torch.nn as nn

from espnet_mamba.checks import one_of
from espnet_mamba.modules.mamba import Mamba
from espnet_mamba.modules.padding import check_lengths, mask_frames, reverse_padded


class BiMambaInner(Mamba):
    """Vim-style bidirectional block ("v2"): shared ``in_proj``/``out_proj``, a second
    SSM branch (``conv1d_b, x_proj_b, dt_proj_b, A_b_log, D_b``) run on the reversed
    sequence, and the two outputs averaged before ``out_proj``.

    This is the layout of the ConMamba and Mamba-TasNet checkpoints. Takes the
    arguments of :class:`Mamba`.
    """

    def __init__(self, d_model: int, **kwargs):
        super().__init__(d_model, **kwargs)
        self._add_branch("_b")

    def forward(
        self, hidden_states: torch.Tensor, lengths: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        """(batch, L, d_model) -> (batch, L, d_model); padded frames are zero."""
        if lengths is not None:
            check_lengths(lengths, hidden_states)
        x, z = self._in(hidden_states)
        y_f, _ = self._ssm(x, z)
        y_b, _ = self._ssm(reverse_padded(x, lengths, 2), reverse_padded(z, lengths, 2), "_b")
        out = self._out((y_f + reverse_padded(y_b, lengths, 2)) / 2)
        return out if lengths is None else mask_frames(out, lengths)


class BiMambaOuter(nn.Module):
    """Two independent Mamba blocks, one on the sequence and one on its reverse.

    Args:
        d_model: Feature size.
        merge: ``"add"`` sums the two outputs; ``"concat"`` concatenates them and
            projects back with ``merge_proj`` (Linear 2*d_model -> d_model).
        **kwargs: Arguments of :class:`Mamba`.

    Parameters: ``mamba_fwd.*``, ``mamba_bwd.*`` (each mamba-ssm's layout) and, for
    ``concat``, ``merge_proj.*``.
    """

    def __init__(self, d_model: int, merge: str = "add", **kwargs):
        super().__init__()
        one_of("bidirectional_merge", merge, ("add", "concat"))
        self.merge = merge
        self.mamba_fwd = Mamba(d_model, **kwargs)
        self.mamba_bwd = Mamba(d_model, **kwargs)
        if merge == "concat":
            self.merge_proj = nn.Linear(2 * d_model, d_model)

    def forward(
        self, hidden_states: torch.Tensor, lengths: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        """(batch, L, d_model) -> (batch, L, d_model); padded frames are zero."""
        fwd = self.mamba_fwd(hidden_states, lengths)  # checks the lengths first
        bwd = reverse_padded(
            self.mamba_bwd(reverse_padded(hidden_states, lengths, 1), lengths), lengths, 1
        )
        if self.merge == "add":
            return fwd + bwd
        out = self.merge_proj(torch.cat([fwd, bwd], dim=-1))
        return out if lengths is None else mask_frames(out, lengths)


def build_mixer(
    d_model: int,
    bidirectional: bool = False,
    bidirectional_type: str = "inner",
    bidirectional_merge: str = "add",
    **mamba_kwargs,
) -> nn.Module:
    """Make the sequence mixer of a layer: :class:`Mamba`, :class:`BiMambaInner` or
    :class:`BiMambaOuter`. All take ``(x, lengths)`` and return the same shape."""
    one_of("bidirectional_type", bidirectional_type, ("inner", "outer"))
    one_of("bidirectional_merge", bidirectional_merge, ("add", "concat"))
    if not bidirectional:
        return Mamba(d_model, **mamba_kwargs)
    if bidirectional_type == "inner":
        return BiMambaInner(d_model, **mamba_kwargs)
    return BiMambaOuter(d_model, merge=bidirectional_merge, **mamba_kwargs)
