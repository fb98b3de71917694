"""Bidirectional Mamba: Vim's "v2" inner variant and the two-block outer variant.

The backward direction reverses each utterance within its own length, so it starts at
the utterance's last real frame and a padded batch gives every utterance the output it
would get alone.
"""
from typing import Optional

import torch
import torch.nn as nn

from espnet_mamba.modules.mamba import Mamba, length_mask


def reverse_padded(x: torch.Tensor, lengths: Optional[torch.Tensor], dim: int) -> torch.Tensor:
    """Reverse the first ``lengths[b]`` frames of each sequence along ``dim``.

    Padded frames stay where they are. ``lengths=None`` reverses the whole axis.
    """
    if lengths is None:
        return x.flip(dim)
    max_len = x.shape[dim]
    t = torch.arange(max_len, device=x.device)[None, :]
    lengths = lengths.to(x.device)[:, None]
    index = torch.where(t < lengths, lengths - 1 - t, t)  # (batch, max_len)
    shape = [1] * x.dim()
    shape[0], shape[dim] = x.shape[0], max_len
    return x.gather(dim, index.view(shape).expand_as(x))


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
        x, z = self._in(hidden_states)
        y_f, _ = self._ssm(x, z)
        y_b, _ = self._ssm(reverse_padded(x, lengths, 2), reverse_padded(z, lengths, 2), "_b")
        out = self._out((y_f + reverse_padded(y_b, lengths, 2)) / 2)
        if lengths is not None:
            out = out * length_mask(lengths, out.shape[1]).unsqueeze(-1).to(out.dtype)
        return out


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
        if merge not in ("add", "concat"):
            raise ValueError(f"merge must be 'add' or 'concat'; got {merge!r}")
        self.merge = merge
        self.mamba_fwd = Mamba(d_model, **kwargs)
        self.mamba_bwd = Mamba(d_model, **kwargs)
        if merge == "concat":
            self.merge_proj = nn.Linear(2 * d_model, d_model)

    def forward(
        self, hidden_states: torch.Tensor, lengths: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        """(batch, L, d_model) -> (batch, L, d_model); padded frames are zero."""
        fwd = self.mamba_fwd(hidden_states, lengths)
        bwd = reverse_padded(
            self.mamba_bwd(reverse_padded(hidden_states, lengths, 1), lengths), lengths, 1
        )
        if self.merge == "add":
            return fwd + bwd
        out = self.merge_proj(torch.cat([fwd, bwd], dim=-1))
        if lengths is not None:
            out = out * length_mask(lengths, out.shape[1]).unsqueeze(-1).to(out.dtype)
        return out


def build_mixer(
    d_model: int,
    bidirectional: bool = False,
    bidirectional_type: str = "inner",
    bidirectional_merge: str = "add",
    **mamba_kwargs,
) -> nn.Module:
    """Make the sequence mixer of a layer: :class:`Mamba`, :class:`BiMambaInner` or
    :class:`BiMambaOuter`. All take ``(x, lengths)`` and return the same shape."""
    if not bidirectional:
        return Mamba(d_model, **mamba_kwargs)
    if bidirectional_type == "inner":
        return BiMambaInner(d_model, **mamba_kwargs)
    if bidirectional_type == "outer":
        return BiMambaOuter(d_model, merge=bidirectional_merge, **mamba_kwargs)
    raise ValueError(
        f"bidirectional_type must be 'inner' or 'outer'; got {bidirectional_type!r}"
    )
