"""A linear map over the channels of (batch, channels, L) tensors, the scan's layout."""
import torch
import torch.nn.functional as F

from espnet_mamba.ops.scan_export import is_exporting


def project_channels(weight: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``weight`` (out, in) applied to every frame of ``x`` (batch, in, L) -> (batch, out, L).

    Eager PyTorch: one ``bmm`` whose result is contiguous, so that neither the CPU kernels
    nor the next projection copy it (``nn.Linear`` on the transposed input gives a
    transposed view; those copies were 16% of a Mamba-TasNet XS training step).  While a
    graph is exported: ``F.linear`` on the transposed input (``torch.export`` guards a
    batched ``bmm`` of an expanded weight on the length).
    """
    if is_exporting():
        return F.linear(x.transpose(1, 2), weight).transpose(1, 2)
    return torch.bmm(weight.expand(x.shape[0], -1, -1), x)
