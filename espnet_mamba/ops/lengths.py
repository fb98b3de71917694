"""Per-utterance lengths for the kernels: checking them, and reversing each utterance
within its own length (the backward direction of bidirectional blocks)."""
from typing import Optional

import torch

from espnet_mamba.ops.scan_export import is_exporting


def check_lengths(lengths: torch.Tensor, x: torch.Tensor, name: str = "lengths",
                  dim: int = 1) -> None:
    """Raise ValueError unless ``lengths`` is one length per sequence of ``x`` (its
    batch axis 0), each in ``0..x.shape[dim]``; also for an empty batch.  While a graph
    is exported the values are symbolic and only the shape is checked."""
    if x.shape[0] == 0:
        raise ValueError(f"empty batch: the input has shape {tuple(x.shape)}")
    if lengths.dim() != 1 or lengths.shape[0] != x.shape[0]:
        raise ValueError(f"{name} must be one length per utterance, shape ({x.shape[0]},); "
                         f"got shape {tuple(lengths.shape)}")
    if lengths.is_floating_point() or lengths.is_complex():
        raise TypeError(f"{name} must be an integer tensor; got {lengths.dtype}")
    if is_exporting():
        return
    low, high = int(lengths.min()), int(lengths.max())
    if low < 0 or high > x.shape[dim]:
        raise ValueError(f"{name} must be in 0..{x.shape[dim]} (the padded length of the "
                         f"input, shape {tuple(x.shape)}); got values from {low} to {high}")


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


def kernel_lengths(lengths: Optional[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """``lengths`` as the CPU kernels take them: contiguous int64 on the CPU, one per
    sequence of ``x`` (batch, ..., L); all ``L`` when ``None``."""
    if lengths is None:
        return torch.full((x.shape[0],), x.shape[-1], dtype=torch.int64)
    return lengths.to(device="cpu", dtype=torch.int64).contiguous()
