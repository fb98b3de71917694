"""The selective scan as one ``scan`` over time, for graph export only.

``torch.export`` (and so ``torch.onnx.export``, whose default exporter builds on it)
cannot trace the numba kernel, and a Python loop over time would be unrolled into a
graph for one length.  :func:`scan_export` writes the recurrence
``h_t = exp(delta_t A) h_{t-1} + delta_t u_t B_t``, ``y_t = C_t . h_t`` as one
``torch._higher_order_ops.scan``, which the ONNX exporter turns into an ONNX ``Scan``
over a dynamic length.  :func:`selective_scan` picks it only while exporting
(:func:`is_exporting`); eager PyTorch keeps the fused CPU kernel.
"""
from typing import Optional, Tuple

import torch
from torch._higher_order_ops.scan import scan


def is_exporting() -> bool:
    """True while ``torch.export`` / ``torch.onnx.export`` traces the model."""
    return torch.compiler.is_exporting() or torch.onnx.is_in_onnx_export()


def _step(h: torch.Tensor, xs: Tuple[torch.Tensor, torch.Tensor, torch.Tensor]):
    dA, dBu, C = xs  # (batch, dim, N) each
    h = dA * h + dBu
    return h, (h * C).sum(-1)


def scan_export(
    u: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    h0: Optional[torch.Tensor],
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Same contract as :func:`espnet_mamba.ops.selective_scan.scan_torch`:
    u, delta (batch, dim, L); A (dim, N); B, C (batch, G, N, L); h0 (batch, dim, N) or
    None.  Returns y (batch, dim, L) and the last state (batch, dim, N)."""
    nb, dim, _ = u.shape
    rep = dim // B.shape[1]

    def time_major(x: torch.Tensor) -> torch.Tensor:
        # contiguous: broadcasting strided views makes torch.export guard on the length
        return x.movedim(-1, 0).contiguous()

    B = time_major(B).repeat_interleave(rep, dim=2)  # (L, batch, dim, N)
    C = time_major(C).repeat_interleave(rep, dim=2)
    delta_t = time_major(delta).unsqueeze(-1)  # (L, batch, dim, 1)
    dA = torch.exp(delta_t * A)
    dBu = delta_t * time_major(u).unsqueeze(-1) * B
    h = u.new_zeros(nb, dim, A.shape[1]) if h0 is None else h0.to(u.dtype)
    last, ys = scan(_step, h, (dA, dBu, C))
    return ys.permute(1, 2, 0), last
