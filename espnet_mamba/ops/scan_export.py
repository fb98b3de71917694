"""The selective scan and Mamba-2's SSD as one ``scan`` over time, for graph export only.

``torch.export`` (and so ``torch.onnx.export``, whose default exporter builds on it)
cannot trace the numba kernel, and a Python loop over time would be unrolled into a
graph for one length.  :func:`scan_export` writes the recurrence
``h_t = exp(delta_t A) h_{t-1} + delta_t u_t B_t``, ``y_t = C_t . h_t`` as one
``torch._higher_order_ops.scan``, which the ONNX exporter turns into an ONNX ``Scan``
over a dynamic length.  :func:`selective_scan` picks it only while exporting
(:func:`is_exporting`); eager PyTorch keeps the fused CPU kernel.  :func:`ssd_export` does
the same for Mamba-2's SSD recurrence (``ops.ssd``), whose chunked matrix form reshapes
the length into chunks, which torch.export cannot prove for a dynamic length.
"""
from typing import Optional, Tuple

import torch
from torch._higher_order_ops.scan import scan


def is_exporting() -> bool:
    """True while ``torch.export`` / ``torch.onnx.export`` traces the model."""
    return torch.compiler.is_exporting() or torch.onnx.is_in_onnx_export()


def _time_major(x: torch.Tensor, dim: int) -> torch.Tensor:
    """Move the time axis ``dim`` first, contiguous: broadcasting strided views makes
    torch.export guard on the length."""
    return x.movedim(dim, 0).contiguous()


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
    B = _time_major(B, -1).repeat_interleave(rep, dim=2)  # (L, batch, dim, N)
    C = _time_major(C, -1).repeat_interleave(rep, dim=2)
    delta_t = _time_major(delta, -1).unsqueeze(-1)  # (L, batch, dim, 1)
    dA = torch.exp(delta_t * A)
    dBu = delta_t * _time_major(u, -1).unsqueeze(-1) * B
    h = u.new_zeros(nb, dim, A.shape[1]) if h0 is None else h0.to(u.dtype)
    last, ys = scan(_step, h, (dA, dBu, C))
    return ys.permute(1, 2, 0), last


def _ssd_step(S: torch.Tensor, xs: Tuple[torch.Tensor, torch.Tensor, torch.Tensor]):
    dA, dBx, C = xs  # (batch, heads, 1, 1), (batch, heads, headdim, N), (batch, heads, N)
    S = dA * S + dBx
    return S, (S * C.unsqueeze(-2)).sum(-1)


def ssd_export(
    x: torch.Tensor,
    dt: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    initial_states: Optional[torch.Tensor],
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Same contract as :func:`espnet_mamba.ops.ssd.ssd_chunked` without the chunk size:
    x (batch, L, heads, headdim); dt (batch, L, heads) after bias/softplus/limits; A
    (heads,); B, C (batch, L, groups, N); initial_states (batch, heads, headdim, N) or
    None.  Returns y (batch, L, heads, headdim) and the final states."""
    nb, _, nh, hd = x.shape
    rep = nh // B.shape[2]
    B = _time_major(B, 1).repeat_interleave(rep, dim=2)  # (L, batch, heads, N)
    C = _time_major(C, 1).repeat_interleave(rep, dim=2)
    dt_t = _time_major(dt, 1)[..., None, None]  # (L, batch, heads, 1, 1)
    dA = torch.exp(dt_t * A[:, None, None])
    dBx = dt_t * _time_major(x, 1).unsqueeze(-1) * B.unsqueeze(-2)  # (L, batch, heads, hd, N)
    S = (x.new_zeros(nb, nh, hd, B.shape[-1]) if initial_states is None
         else initial_states.to(x.dtype))
    final, ys = scan(_ssd_step, S, (dA, dBx, C))
    return ys.movedim(0, 1).contiguous(), final  # contiguous: as _time_major
