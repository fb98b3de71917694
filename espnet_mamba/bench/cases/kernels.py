"""Selective-scan kernels (``python -m espnet_mamba.bench scan``): the project's op and
the reference formulations, on the same inputs (with D, z and the softplus of delta)."""
import torch
import torch.nn.functional as F

from espnet_mamba.bench.cases import Fns, backward_of_sum as _backward


def _scan_inputs(device: str, batch: int, dim: int, state: int, length: int,
                 delta_bias: bool = False):
    g = torch.Generator().manual_seed(0)

    def leaf(*shape, scale=1.0):
        return (torch.randn(*shape, generator=g) * scale).to(device).requires_grad_(True)

    x = dict(u=leaf(batch, dim, length), delta=leaf(batch, dim, length, scale=0.5),
             A=(-torch.rand(dim, state, generator=g) - 0.1).to(device).requires_grad_(True),
             B=leaf(batch, state, length), C=leaf(batch, state, length), D=leaf(dim),
             z=leaf(batch, dim, length))
    if delta_bias:
        x["delta_bias"] = leaf(dim, scale=0.1)
    return x


def scan_project(device: str, batch: int, dim: int, state: int, length: int,
                 delta_bias: bool = False) -> Fns:
    """espnet_mamba.ops.selective_scan (mamba-ssm's kernel on CUDA, fused numba on CPU);
    ``delta_bias`` adds mamba-ssm's delta bias (the reference scans here have none)."""
    from espnet_mamba.ops import selective_scan

    x = _scan_inputs(device, batch, dim, state, length, delta_bias)
    return (lambda: selective_scan(**x, delta_softplus=True)), _backward


def _loop_scan(x, step_inputs) -> torch.Tensor:
    delta = F.softplus(x["delta"])
    dA = torch.exp(torch.einsum("bdl,dn->bdln", delta, x["A"]))
    dBu = torch.einsum("bdl,bnl,bdl->bdln", delta, x["B"], x["u"])
    h = x["u"].new_zeros(x["u"].shape[0], x["u"].shape[1], x["A"].shape[1])
    ys = []
    for a_t, b_t, c_t in step_inputs(dA, dBu, x["C"]):
        h = a_t * h + b_t
        ys.append(torch.einsum("bdn,bn->bd", h, c_t))
    y = torch.stack(ys, dim=2) + x["u"] * x["D"][:, None]
    return y * F.silu(x["z"])


def scan_sequential(device: str, batch: int, dim: int, state: int, length: int,
                    unbind: bool = False) -> Fns:
    """The sequential reference scan (a Python loop over time, as mamba-ssm's
    ``selective_scan_ref``): per-step indexing, or ``unbind`` (cheaper backward)."""
    x = _scan_inputs(device, batch, dim, state, length)

    def indexed(dA, dBu, C):
        return ((dA[:, :, t], dBu[:, :, t], C[:, :, t]) for t in range(dA.shape[2]))

    def unbound(dA, dBu, C):
        return zip(dA.unbind(2), dBu.unbind(2), C.unbind(2))

    return (lambda: _loop_scan(x, unbound if unbind else indexed)), _backward


def scan_pscan(device: str, batch: int, dim: int, state: int, length: int) -> Fns:
    """mamba.py's parallel scan (``mambapy.pscan``, Hugging Face's fallback)."""
    from mambapy.pscan import pscan  # optional: pip install espnet-mamba[bench]

    x = _scan_inputs(device, batch, dim, state, length)

    def forward():
        delta = F.softplus(x["delta"]).transpose(1, 2)  # (b, l, d)
        dA = torch.exp(delta.unsqueeze(-1) * x["A"])
        dBu = (delta * x["u"].transpose(1, 2)).unsqueeze(-1) * x["B"].transpose(1, 2).unsqueeze(2)
        hs = pscan(dA, dBu)  # (b, l, d, n)
        y = (hs @ x["C"].transpose(1, 2).unsqueeze(-1)).squeeze(-1).transpose(1, 2)
        return (y + x["u"] * x["D"][:, None]) * F.silu(x["z"])

    return forward, _backward


def ssd_project(device: str, batch: int, dim: int, state: int, length: int,
                headdim: int = 64) -> Fns:
    """espnet_mamba.ops.ssd_scan (Mamba-2) on ``dim`` channels as ``dim / headdim`` heads,
    one group, with D, z, dt_bias and softplus (mamba-ssm's kernel on CUDA, the chunked
    matrix form elsewhere)."""
    from espnet_mamba.ops.ssd import ssd_scan

    g = torch.Generator().manual_seed(0)
    heads = dim // headdim

    def leaf(*shape, scale=1.0):
        return (torch.randn(*shape, generator=g) * scale).to(device).requires_grad_(True)

    x = dict(x=leaf(batch, length, heads, headdim), dt=leaf(batch, length, heads, scale=0.5),
             A=(-torch.rand(heads, generator=g) - 0.5).to(device).requires_grad_(True),
             B=leaf(batch, length, 1, state), C=leaf(batch, length, 1, state), D=leaf(heads),
             z=leaf(batch, length, heads, headdim), dt_bias=leaf(heads, scale=0.1))
    return (lambda: ssd_scan(**x, chunk_size=64, dt_softplus=True)), _backward
