"""``selective_scan``: mamba-ssm's ``selective_scan_fn`` semantics on any device.

CUDA tensors use the official kernel when ``mamba_ssm`` imports; CPU tensors use the
fused numba kernel of :mod:`espnet_mamba.ops.scan_cpu`; graph export (``torch.export``,
``torch.onnx.export``) uses the ``scan`` of :mod:`espnet_mamba.ops.scan_export`;
anything else (CUDA without mamba-ssm, or a CUDA call with ``initial_state``, which the
official kernel lacks) uses the sequential PyTorch scan of :func:`scan_torch`.  A
``reverse`` scan runs reversed inside the CPU kernel; the other paths reverse each
sequence within its length around the scan.
"""
from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F

from espnet_mamba.ops import cuda_kernels
from espnet_mamba.ops.lengths import check_lengths, reverse_padded
from espnet_mamba.ops.scan_cpu import scan_cpu
from espnet_mamba.ops.scan_export import is_exporting, scan_export


def _check_inputs(u, delta, A, B, C, D, z, delta_bias, initial_state) -> None:
    """Shapes and dtypes of :func:`selective_scan`'s arguments, each named when wrong."""
    named = dict(u=u, delta=delta, A=A, B=B, C=C, D=D, z=z, delta_bias=delta_bias,
                 initial_state=initial_state)
    for name, t in named.items():
        if t is not None and not (t.is_floating_point() or (name == "A" and t.is_complex())):
            raise TypeError(f"selective_scan: {name} must be a floating-point tensor; got "
                            f"{t.dtype}")
    if u.dim() != 3 or delta.shape != u.shape:
        raise ValueError(
            f"u and delta must both be (batch, dim, L); got {tuple(u.shape)} and "
            f"{tuple(delta.shape)}"
        )
    nb, dim, L = u.shape
    if A.dim() != 2 or A.shape[0] != dim:
        raise ValueError(f"A must be (dim={dim}, N); got {tuple(A.shape)}")
    if A.is_complex():
        raise ValueError("complex A is not supported; use a real A (Mamba's default)")
    N = A.shape[1]
    for name, M in (("B", B), ("C", C)):
        ok = (M.dim() == 3 and M.shape == (nb, N, L)) or (
            M.dim() == 4 and M.shape[0] == nb and M.shape[2:] == (N, L)
            and dim % M.shape[1] == 0
        )
        if not ok:
            raise ValueError(
                f"{name} must be (batch={nb}, N={N}, L={L}) or (batch, groups, N, L) with "
                f"groups dividing dim={dim}; got {tuple(M.shape)}"
            )
    if initial_state is not None and initial_state.shape != (nb, dim, N):
        raise ValueError(
            f"initial_state must be (batch={nb}, dim={dim}, N={N}); "
            f"got {tuple(initial_state.shape)}"
        )
    if z is not None and z.shape != u.shape:
        raise ValueError(f"z must be (batch, dim, L) like u, {tuple(u.shape)}; "
                         f"got {tuple(z.shape)}")
    for name, t in (("D", D), ("delta_bias", delta_bias)):
        if t is not None and t.shape != (dim,):
            raise ValueError(f"{name} must be (dim={dim},); got {tuple(t.shape)}")


def scan_torch(
    u: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    h0: Optional[torch.Tensor],
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Sequential scan in plain PyTorch (any device). B, C: (batch, G, N, L)."""
    nb, dim, L = u.shape
    rep = dim // B.shape[1]
    B = B.repeat_interleave(rep, dim=1)  # (batch, dim, N, L)
    C = C.repeat_interleave(rep, dim=1)
    dA = torch.exp(delta.unsqueeze(2) * A[None, :, :, None])  # (batch, dim, N, L)
    dBu = (delta * u).unsqueeze(2) * B
    h = u.new_zeros(nb, dim, A.shape[1]) if h0 is None else h0.to(u.dtype)
    ys = []
    for a_t, b_t, c_t in zip(dA.unbind(-1), dBu.unbind(-1), C.unbind(-1)):
        h = a_t * h + b_t
        ys.append((h * c_t).sum(-1))
    return torch.stack(ys, dim=-1), h


def selective_scan(
    u: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: Optional[torch.Tensor] = None,
    z: Optional[torch.Tensor] = None,
    delta_bias: Optional[torch.Tensor] = None,
    delta_softplus: bool = False,
    return_last_state: bool = False,
    initial_state: Optional[torch.Tensor] = None,
    reverse: bool = False,
    lengths: Optional[torch.Tensor] = None,
) -> Union[torch.Tensor, Tuple[torch.Tensor, torch.Tensor]]:
    """Selective scan with the semantics of ``mamba_ssm``'s ``selective_scan_fn``.

    Args:
        u: Input, (batch, dim, L).
        delta: Step sizes, (batch, dim, L).
        A: State matrix, (dim, N), real.
        B: Input matrix, (batch, N, L) or grouped (batch, G, N, L).
        C: Output matrix, same layout as ``B``.
        D: Optional skip weight, (dim,).
        z: Optional gate, (batch, dim, L); the output is multiplied by ``silu(z)``.
        delta_bias: Optional bias added to ``delta``, (dim,).
        delta_softplus: Apply ``softplus`` to ``delta`` (after the bias).
        return_last_state: Also return the final state, (batch, dim, N).
        initial_state: Optional state before the first step, (batch, dim, N)
            (an extension over mamba-ssm, used for streaming).
        reverse: Scan each sequence backwards from its last real frame, then its
            padding (what a scan of :func:`~espnet_mamba.ops.lengths.reverse_padded`
            input gives), with the output in the input's frame order (an extension:
            the backward branch of bidirectional blocks).
        lengths: Real frames per sequence, (batch,) integers, for ``reverse``; all
            ``L`` if omitted.

    Returns:
        ``out`` (batch, dim, L) in ``u``'s dtype, and ``last_state`` (float32 or
        float64) if ``return_last_state``.

    Raises:
        TypeError: an input is not a floating-point tensor.
        ValueError: an input's shape does not fit ``u`` and ``A``.
    """
    _check_inputs(u, delta, A, B, C, D, z, delta_bias, initial_state)
    if lengths is not None:
        check_lengths(lengths, u, dim=2)
    if u.device.type == "cpu" and not u.is_cuda and not is_exporting():  # fused kernel: all
        out, last = _scan_cpu(u, delta, A, B, C, D, z, delta_bias, delta_softplus,
                              initial_state, reverse, lengths)
    elif reverse:  # the same scan on per-utterance reversed inputs
        flip = lambda t: None if t is None else reverse_padded(t, lengths, -1)  # noqa: E731
        out, last = selective_scan(flip(u), flip(delta), A, flip(B), flip(C), D, flip(z),
                                   delta_bias, delta_softplus, True, initial_state)
        out = flip(out)
    elif (u.is_cuda and initial_state is None and cuda_kernels.selective_scan_fn is not None
            and not is_exporting()):
        return cuda_kernels.selective_scan_fn(
            u, delta, A, B, C, D, z, delta_bias, delta_softplus, return_last_state
        )
    else:
        out, last = _scan_torch_ops(u, delta, A, B, C, D, z, delta_bias, delta_softplus,
                                    initial_state)
    return (out, last) if return_last_state else out


def _in_float(u, A, B, C):
    """u's dtype for the state math (float32, or float64), and A, B, C in it, B and C
    as (batch, G, N, L)."""
    dtype = torch.float64 if u.dtype == torch.float64 else torch.float32
    if B.dim() == 3:
        B, C = B.unsqueeze(1), C.unsqueeze(1)
    return dtype, A.to(dtype), B.to(dtype), C.to(dtype)


def _scan_cpu(u, delta, A, B, C, D, z, delta_bias, delta_softplus, initial_state, reverse,
              lengths):
    """The fused numba kernel: step sizes, skip and gate inside it."""
    with torch.autocast(device_type="cpu", enabled=False):
        dtype, A, B, C = _in_float(u, A, B, C)
        y, last = scan_cpu(u.to(dtype), delta.to(dtype), A, B, C, initial_state,
                           None if delta_bias is None else delta_bias.to(dtype),
                           delta_softplus, None if D is None else D.to(dtype), z,
                           lengths, reverse)
    return y.to(u.dtype), last


def _scan_torch_ops(u, delta, A, B, C, D, z, delta_bias, delta_softplus, initial_state):
    """PyTorch ops around :func:`scan_torch` (or the export scan)."""
    with torch.autocast(device_type=u.device.type, enabled=False):
        dtype, A, B, C = _in_float(u, A, B, C)
        u32, delta32 = u.to(dtype), delta.to(dtype)
        if delta_bias is not None:
            delta32 = delta32 + delta_bias.to(dtype)[:, None]
        if delta_softplus:
            delta32 = F.softplus(delta32)
        scan = scan_export if is_exporting() else scan_torch
        y, last = scan(u32, delta32, A, B, C, initial_state)
        if D is not None:
            y = y + u32 * D.to(dtype)[:, None]
        if z is not None:
            y = y * F.silu(z.to(dtype))
    return y.to(u.dtype), last
