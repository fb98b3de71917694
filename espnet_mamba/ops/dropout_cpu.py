"""Dropout for CPU training: a counter-based mask, made in parallel and never stored.

``torch.nn.functional.dropout`` on the CPU draws its mask with ``bernoulli_``, one
element at a time on one thread: 7.7-8.0 ms for 1M float32 elements on the 2-core VM of
docs/kernels.md, 14% of a ConMamba S and 18-21% of a Conformer S training step.  Here element ``i``
is kept when ``hash(i, seeds) >= p * 2**32``, with ``hash`` two rounds of the
``lowbias32`` integer mixer (C. Wellons' hash-prospector: a bijection of the 32-bit
integers) keyed by two 32-bit seeds that torch's default generator draws per call, so
``torch.manual_seed`` (ESPnet's ``--seed``) makes runs repeatable.  The kernel
vectorizes and runs over both cores: 0.88 ms for the same 1M elements.  The backward
applies the same mask to the gradient by rerunning the kernel with the same seeds, so
no mask is kept between forward and backward.

Elements are indexed in row-major order; tensors of 2**32 elements or more, other
dtypes than float32/float64, and other devices use torch's dropout.
"""
import numba
import numpy as np
import torch

from espnet_mamba.ops.cpu_threads import choose, compile_pair

_BLOCK = 4096  # elements per parallel work unit
_MASK32 = np.uint64(0xFFFFFFFF)
_SUPPORTED = (torch.float32, torch.float64)


@numba.njit(inline="always")
def _mix(x):  # pragma: no cover - compiled
    """lowbias32 on a 32-bit value held in a uint64 (multiplies wrapped by masking)."""
    x = x ^ (x >> np.uint64(16))
    x = (x * np.uint64(0x7FEB352D)) & _MASK32
    x = x ^ (x >> np.uint64(15))
    x = (x * np.uint64(0x846CA68B)) & _MASK32
    return x ^ (x >> np.uint64(16))


def _dropout_kernel(x, out, threshold, scale, seed_a, seed_b):  # pragma: no cover
    n = x.size
    for block in numba.prange((n + _BLOCK - 1) // _BLOCK):
        start = block * _BLOCK
        base = np.uint64(start) + seed_a
        for k in range(min(n, start + _BLOCK) - start):
            h = _mix(_mix((base + np.uint64(k)) & _MASK32) ^ seed_b)
            keep = x.dtype.type(h >= threshold)
            out[start + k] = x[start + k] * (keep * scale)


_KERNEL = compile_pair(_dropout_kernel)


def apply_mask(x: torch.Tensor, p: float, seeds: torch.Tensor) -> torch.Tensor:
    """``x`` with the elements dropped that ``seeds`` (two int64 in ``0..2**32-1``)
    select at rate ``p``, the rest scaled by ``1 / (1 - p)``."""
    x = x.contiguous()
    out = torch.empty_like(x)
    if x.numel():
        with choose(_KERNEL) as kernel:
            kernel(x.view(-1).numpy(), out.view(-1).numpy(), np.uint64(int(p * 2**32)),
                   x.new_tensor(1.0 / (1.0 - p)).numpy()[()],
                   np.uint64(int(seeds[0])), np.uint64(int(seeds[1])))
    return out


class DropoutCPU(torch.autograd.Function):
    """Forward and backward apply the same mask (from the same seeds)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, p: float) -> torch.Tensor:
        seeds = torch.randint(0, 2**32, (2,), dtype=torch.int64)
        ctx.p, ctx.seeds = p, seeds
        return apply_mask(x.detach(), p, seeds)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return apply_mask(grad, ctx.p, ctx.seeds), None


def dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """``torch.nn.functional.dropout(x, p, training)``, with the fast mask on the CPU."""
    if not training or p == 0.0:
        return x
    if (x.device.type != "cpu" or x.dtype not in _SUPPORTED or x.numel() >= 2**32
            or not 0.0 < p < 1.0):
        return torch.nn.functional.dropout(x, p, training)
    return DropoutCPU.apply(x, p)
