"""Padding helpers: length masks, zeroing padded frames; the length checks and the
per-utterance reversal of :mod:`espnet_mamba.ops.lengths`.

Padded frames are zeroed with ``torch.where``, never by multiplying with a 0/1 mask, so
whatever the padding holds (NaN or Inf from an uninitialised buffer included) never
reaches a real frame: ``NaN * 0`` is NaN.
"""
import torch

from espnet_mamba.ops.lengths import check_lengths, reverse_padded

__all__ = ["check_lengths", "length_mask", "mask_frames", "reverse_padded"]


def length_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """(batch, max_len) bool mask, True at real frames."""
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


def mask_frames(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Zero the frames at or past ``lengths``: x (batch, T, ...)."""
    mask = length_mask(lengths.to(x.device), x.shape[1])
    return torch.where(mask.view(mask.shape + (1,) * (x.dim() - 2)), x, x.new_zeros(()))
