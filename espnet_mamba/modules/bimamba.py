"""Bidirectional Mamba and Mamba-2: Vim's "v2" inner variant (shared projections, a second
SSM branch on the reversed sequence) and the two-block outer variant, for both mixers.

The backward direction reverses each utterance within its own length, so it starts at
the utterance's last real frame and a padded batch gives every utterance the output it
would get alone.
"""
from typing import Optional, Union

import torch
import torch.nn as nn

from espnet_mamba.checks import one_of
from espnet_mamba.modules.mamba import Mamba, MambaState
from espnet_mamba.modules.mamba2 import Mamba2, Mamba2State
from espnet_mamba.modules.padding import check_lengths, mask_frames, reverse_padded


class BiMambaInner(Mamba):
    """Vim-style bidirectional block ("v2"): shared ``in_proj``/``out_proj``, a second
    SSM branch (``conv1d_b, x_proj_b, dt_proj_b, A_b_log, D_b``) run on the reversed
    sequence, and the two outputs averaged before ``out_proj``.

    This is the layout of the ConMamba and Mamba-TasNet checkpoints. Takes the
    arguments of :class:`Mamba`.  The backward branch runs on x and z where they lie:
    the convolution and the scan walk each utterance backwards within its length
    (``reverse=True``), so no reversed copies are made.
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
        y_b, _ = self._ssm(x, z, "_b", reverse=True, lengths=lengths)
        out = self._out((y_f + y_b) / 2)
        return out if lengths is None else mask_frames(out, lengths)


class BiMamba2Inner(Mamba2):
    """The inner bidirectional variant of :class:`Mamba2`: shared ``in_proj``, ``norm``
    and ``out_proj``, a second branch (``conv1d_b, dt_bias_b, A_b_log, D_b``) run on the
    per-utterance reversed x, B, C and dt, the two SSD outputs averaged before the gated
    norm.  Takes the arguments of :class:`Mamba2`."""

    def __init__(self, d_model: int, **kwargs):
        super().__init__(d_model, **kwargs)
        self._add_branch("_b")

    def forward(
        self, hidden_states: torch.Tensor, lengths: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        """(batch, L, d_model) -> (batch, L, d_model); padded frames are zero in the
        input (whatever they held) and in the output."""
        if lengths is not None:
            check_lengths(lengths, hidden_states)
            hidden_states = mask_frames(hidden_states, lengths)
        z, xBC, dt = self._project(hidden_states)
        y_f, _ = self._branch(xBC, dt, z)
        y_b, _ = self._branch(reverse_padded(xBC, lengths, 1), reverse_padded(dt, lengths, 1),
                              reverse_padded(z, lengths, 1), "_b")
        out = self._finish((y_f + reverse_padded(y_b, lengths, 1)) / 2, z)
        return out if lengths is None else mask_frames(out, lengths)


class BiMambaOuter(nn.Module):
    """Two independent blocks, one on the sequence and one on its reverse.

    Args:
        d_model: Feature size.
        merge: ``"add"`` sums the two outputs; ``"concat"`` concatenates them and
            projects back with ``merge_proj`` (Linear 2*d_model -> d_model).
        block: The block class, :class:`Mamba` or :class:`Mamba2`.
        **kwargs: Arguments of ``block``.

    Parameters: ``mamba_fwd.*``, ``mamba_bwd.*`` (each mamba-ssm's layout) and, for
    ``concat``, ``merge_proj.*``.
    """

    def __init__(self, d_model: int, merge: str = "add", block: type = Mamba, **kwargs):
        super().__init__()
        one_of("bidirectional_merge", merge, ("add", "concat"))
        self.merge = merge
        self.mamba_fwd = block(d_model, **kwargs)
        self.mamba_bwd = block(d_model, **kwargs)
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


# mixer -> (unidirectional block, inner bidirectional block)
MIXERS = {"mamba": (Mamba, BiMambaInner), "mamba2": (Mamba2, BiMamba2Inner)}
MixerState = Union[MambaState, Mamba2State]  # what a unidirectional mixer's forward_chunk carries


def build_mixer(
    d_model: int,
    bidirectional: bool = False,
    bidirectional_type: str = "inner",
    bidirectional_merge: str = "add",
    mixer: str = "mamba",
    headdim: int = 64,
    ngroups: int = 1,
    chunk_size: int = 64,
    **mamba_kwargs,
) -> nn.Module:
    """Make the sequence mixer of a layer: a Mamba (``mixer="mamba"``) or Mamba-2
    (``"mamba2"``) block, unidirectional, inner- or outer-bidirectional.  All take
    ``(x, lengths)`` and return the same shape; ``mamba_kwargs`` go to the block, and so
    do Mamba-2's ``headdim``, ``ngroups`` and ``chunk_size`` with ``mamba2`` (the
    components take them as config options whatever the mixer; ``mamba`` ignores them)."""
    one_of("bidirectional_type", bidirectional_type, ("inner", "outer"))
    one_of("bidirectional_merge", bidirectional_merge, ("add", "concat"))
    one_of("mixer", mixer, tuple(MIXERS))
    block, inner = MIXERS[mixer]
    if mixer == "mamba2":
        mamba_kwargs.update(headdim=headdim, ngroups=ngroups, chunk_size=chunk_size)
    if not bidirectional:
        return block(d_model, **mamba_kwargs)
    if bidirectional_type == "inner":
        return inner(d_model, **mamba_kwargs)
    return BiMambaOuter(d_model, merge=bidirectional_merge, block=block, **mamba_kwargs)
