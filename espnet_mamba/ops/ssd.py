"""``ssd_scan``: mamba-ssm's ``mamba_chunk_scan_combined`` semantics (Mamba-2's state-space
duality) on any device.

Per head ``h`` (``headdim`` channels ``p`` sharing one scalar decay) and state ``n``::

    dt_t  = softplus(dt_t + dt_bias), clamped to dt_limit
    S_t   = exp(dt_t A_h) S_{t-1} + dt_t x_t B_t^T        (S: headdim x d_state)
    y_t   = S_t C_t + D x_t,  then y_t * silu(z_t) if z is given

CUDA tensors use the official Triton kernel when ``mamba_ssm`` imports (written against its
documented signature; not run here: no GPU); while exporting a graph, the recurrence as
one scan over time (:func:`espnet_mamba.ops.scan_export.ssd_export`); otherwise the
chunked matrix form of the SSD paper in plain PyTorch (:func:`ssd_chunked`): inside a
chunk of ``chunk_size`` steps the output is a masked (decay-weighted) attention-like
product, between chunks the states are passed on by a second, chunk-level product.  It
is mostly matrix products (what CPUs do well), differentiable by autograd, and exact up
to float rounding; memory is ``O(batch * heads * L * chunk_size)`` for the intra-chunk
decays.
"""
import math
from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F

from espnet_mamba.ops import cuda_kernels
from espnet_mamba.ops.scan_export import is_exporting, ssd_export


def _segsum(x: torch.Tensor) -> torch.Tensor:
    """``out[..., i, j] = sum_{k=j+1}^{i} x[..., k]`` for ``j <= i``, ``-inf`` above the
    diagonal; summed by a masked cumsum (no differences of large cumulative sums)."""
    T = x.shape[-1]
    rep = x[..., None].expand(*x.shape, T)  # rep[..., k, j] = x[..., k]
    below = torch.tril(torch.ones(T, T, dtype=torch.bool, device=x.device), diagonal=-1)
    sums = torch.cumsum(rep.masked_fill(~below, 0.0), dim=-2)
    keep = torch.tril(torch.ones(T, T, dtype=torch.bool, device=x.device))
    return sums.masked_fill(~keep, -math.inf)


def ssd_chunked(x: torch.Tensor, dt: torch.Tensor, A: torch.Tensor, B: torch.Tensor,
                C: torch.Tensor, chunk_size: int,
                initial_states: Optional[torch.Tensor] = None
                ) -> Tuple[torch.Tensor, torch.Tensor]:
    """The SSD recurrence without D, z or dt processing, in chunked matrix form.

    The heads of a group share B and C, so ``C B^T`` is formed once per group and chunk;
    every other step is a batched matrix product over (group, head, chunk).

    Args:
        x: (batch, L, heads, headdim).
        dt: Step sizes after bias/softplus/limits, (batch, L, heads).
        A: (heads,), negative.
        B, C: (batch, L, groups, d_state), groups dividing heads.
        chunk_size: Steps per chunk.
        initial_states: (batch, heads, headdim, d_state) or None (zeros).

    Returns:
        y (batch, L, heads, headdim) and the final states (batch, heads, headdim, d_state).
    """
    nb, L, nh, hd = x.shape
    ng, n = B.shape[2], B.shape[3]
    per = nh // ng
    K = chunk_size
    pad = (-L) % K  # padded steps: dt = 0 (no decay), x = 0 (no input)
    if pad:
        x, dt = F.pad(x, (0, 0, 0, 0, 0, pad)), F.pad(dt, (0, 0, 0, pad))
        B, C = F.pad(B, (0, 0, 0, 0, 0, pad)), F.pad(C, (0, 0, 0, 0, 0, pad))
    nc = x.shape[1] // K
    # layout (batch, group, head in group, chunk, step, ...)
    xdt = (x * dt[..., None]).view(nb, nc, K, ng, per, hd).permute(0, 3, 4, 1, 2, 5)
    a = (dt * A).view(nb, nc, K, ng, per).permute(0, 3, 4, 1, 2)  # log-decay per step
    a_cum = torch.cumsum(a, dim=-1)
    Bg = B.view(nb, nc, K, ng, n).permute(0, 3, 1, 2, 4).unsqueeze(2)  # (b, g, 1, c, K, n)
    Cg = C.view(nb, nc, K, ng, n).permute(0, 3, 1, 2, 4).unsqueeze(2)
    # within chunks: y_t = sum_{s <= t} (C_t . B_s) exp(a_{s+1} + ... + a_t) dt_s x_s
    y = ((Cg @ Bg.transpose(-1, -2)) * torch.exp(_segsum(a))) @ xdt
    # each chunk's own end state, then the states entering every chunk
    states = (xdt * torch.exp(a_cum[..., -1:] - a_cum)[..., None]).transpose(-1, -2) @ Bg
    if initial_states is None:
        initial_states = x.new_zeros(nb, nh, hd, n)
    init = initial_states.to(x.dtype).view(nb, ng, per, 1, hd, n)
    states = torch.cat([init, states], dim=3)  # (b, g, r, c + 1, hd, n)
    chunk_decay = torch.exp(_segsum(F.pad(a_cum[..., -1], (1, 0))))  # (b, g, r, c+1, c+1)
    states = (chunk_decay @ states.flatten(-2)).view(states.shape)
    entering, final = states[:, :, :, :-1], states[:, :, :, -1]
    y = y + (Cg @ entering.transpose(-1, -2)) * torch.exp(a_cum)[..., None]
    y = y.permute(0, 3, 4, 1, 2, 5).reshape(nb, nc * K, nh, hd)[:, :L]
    return y, final.reshape(nb, nh, hd, n)


def ssd_scan(
    x: torch.Tensor,
    dt: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    chunk_size: int = 256,
    D: Optional[torch.Tensor] = None,
    z: Optional[torch.Tensor] = None,
    dt_bias: Optional[torch.Tensor] = None,
    dt_softplus: bool = False,
    dt_limit: Tuple[float, float] = (0.0, float("inf")),
    initial_states: Optional[torch.Tensor] = None,
    return_final_states: bool = False,
) -> Union[torch.Tensor, Tuple[torch.Tensor, torch.Tensor]]:
    """Mamba-2's scan with the arguments of ``mamba_chunk_scan_combined``.

    Args:
        x: (batch, L, heads, headdim).
        dt: (batch, L, heads).
        A: (heads,), negative (``-exp(A_log)``).
        B, C: (batch, L, groups, d_state); groups divides heads.
        chunk_size: Steps per chunk (speed and memory only; results do not depend on it).
        D: Skip weight, (heads,) or (heads, headdim).
        z: Gate, (batch, L, heads, headdim): the output is multiplied by ``silu(z)``.
        dt_bias: (heads,), added to ``dt`` first.
        dt_softplus: Apply softplus to ``dt`` (after the bias).
        dt_limit: Clamp of the processed ``dt``.
        initial_states: (batch, heads, headdim, d_state) before the first step.
        return_final_states: Also return the states after the last step.

    Returns:
        ``y`` (batch, L, heads, headdim) in ``x``'s dtype, and the final states
        (float32, or float64 for float64 inputs) if ``return_final_states``.

    Raises:
        ValueError: shapes that do not fit ``x``, or ``chunk_size`` below 1.
    """
    nb, L, nh, hd = x.shape
    if dt.shape != (nb, L, nh) or A.shape != (nh,):
        raise ValueError(f"dt must be (batch, L, heads)={nb, L, nh} and A (heads,)={nh,}; "
                         f"got {tuple(dt.shape)} and {tuple(A.shape)}")
    if B.dim() != 4 or B.shape[:2] != (nb, L) or nh % B.shape[2] or C.shape != B.shape:
        raise ValueError(f"B and C must be (batch={nb}, L={L}, groups dividing {nh}, d_state) "
                         f"alike; got {tuple(B.shape)} and {tuple(C.shape)}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1; got {chunk_size}")
    if x.is_cuda and cuda_kernels.mamba_chunk_scan_combined is not None and not is_exporting():
        return cuda_kernels.mamba_chunk_scan_combined(
            x, dt, A, B, C, chunk_size, D=D, z=z, dt_bias=dt_bias,
            initial_states=initial_states, dt_softplus=dt_softplus, dt_limit=dt_limit,
            return_final_states=return_final_states)
    dtype = torch.float64 if x.dtype == torch.float64 else torch.float32
    x32, dt32 = x.to(dtype), dt.to(dtype)
    if dt_bias is not None:
        dt32 = dt32 + dt_bias.to(dtype)
    if dt_softplus:
        dt32 = F.softplus(dt32)
    if dt_limit != (0.0, float("inf")):
        dt32 = dt32.clamp(min=dt_limit[0], max=dt_limit[1])
    if is_exporting():  # the chunk count of a dynamic length is beyond torch.export
        # contiguous: strided views make torch.export guard on the length
        x32, z = x32.contiguous(), None if z is None else z.contiguous()
        y, final = ssd_export(x32, dt32, A.to(dtype), B.to(dtype), C.to(dtype), initial_states)
    else:
        y, final = ssd_chunked(x32, dt32, A.to(dtype), B.to(dtype), C.to(dtype), chunk_size,
                               initial_states)
    if D is not None:
        y = y + x32 * (D.to(dtype)[:, None] if D.dim() == 1 else D.to(dtype))
    if z is not None:
        y = y * F.silu(z.to(dtype))
    y = y.to(x.dtype)
    return (y, final) if return_final_states else y
