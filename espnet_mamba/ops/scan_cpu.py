"""Fused selective-scan kernels for the CPU (numba), with a hand-written backward.

The forward pass runs the recurrence once per (batch, channel) in parallel and keeps
only the state at the start of every ``CHUNK`` steps.  The backward pass walks the
chunks in reverse: it recomputes the chunk's states from its checkpoint into a small
buffer, then runs the adjoint recurrence, ``CHANNEL_BLOCK`` channels of a group at a
time (they share the B and C rows, whose gradients are summed over the block before
one write).  Memory is therefore
``O(batch * dim * (L / CHUNK) * N)`` for the saved states, linear in ``L``.

The inner loops run over the N state entries, which LLVM vectorizes; for float32 the
exponential is a branch-free Cody-Waite/polynomial ``exp`` (about 1 ulp) that vectorizes
too, where a libm call would not. float64 uses ``math.exp``.  The step sizes
(``delta + delta_bias``, through torch's ``softplus`` when asked) are made inside both
kernels, a chunk of steps at a time in a vectorized loop (float32: that ``exp`` and a
series for ``log1p``), so neither the step sizes nor their softplus' slope are stored.

Threads: the parallel kernels run over (batch, channel) where
:mod:`espnet_mamba.ops.cpu_threads` allows it, the serial ones elsewhere.  The serial
forward gives the same numbers bit for bit; the serial backward sums the B/C gradients
of a group in another order (float rounding).

Shapes (all contiguous, same float dtype):
    u, delta: (batch, dim, L)       A: (dim, N)
    B, C:     (batch, G, L, N)      h0: (batch, dim, N)
"""
import math
from typing import Callable, Dict, Optional, Tuple

import numba
import numpy as np
import torch
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload

from espnet_mamba.ops.cpu_threads import choose, compile_pair

CHUNK = 64  # steps between saved states
CHANNEL_BLOCK = 16  # channels per pass of the backward (see _backward_kernel)


@intrinsic
def _bits_to_float32(typingctx, bits):  # pragma: no cover - compiled
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())

    return types.float32(types.int32), codegen


@numba.njit(inline="always", fastmath=True, error_model="numpy")
def _exp_float32(x):  # pragma: no cover - compiled
    """exp(x) for float32: x = k ln2 + r, |r| <= ln2/2; exp(r) by a degree-7 polynomial
    (Cephes' expf coefficients); 2^k built from its exponent bits."""
    x = min(max(x, np.float32(-87.0)), np.float32(88.0))
    k = np.floor(x * np.float32(1.4426950408889634) + np.float32(0.5))
    r = x - k * np.float32(0.693359375) + k * np.float32(2.12194440e-4)
    p = np.float32(1.9875691500e-4)
    p = p * r + np.float32(1.3981999507e-3)
    p = p * r + np.float32(8.3334519073e-3)
    p = p * r + np.float32(4.1665795894e-2)
    p = p * r + np.float32(1.6666665459e-1)
    p = p * r + np.float32(5.0000001201e-1)
    p = p * r * r + r + np.float32(1.0)
    return p * _bits_to_float32((np.int32(k) + np.int32(127)) << np.int32(23))


def _float32_or_libm(float32_impl, libm):
    """A function for the kernels that runs ``float32_impl`` on float32 and ``libm``
    (``math``'s, exact to float64) on other types (a numba overload picks one)."""
    def function(x):
        return libm(x)

    @overload(function, inline="always")
    def _choose(x):  # pragma: no cover - compiled
        if x == types.float32:
            return lambda x: float32_impl(x)
        return lambda x: libm(x)

    function.__doc__ = f"{libm.__name__} for the kernels: float32 by {float32_impl.__name__}"
    return function


_exp = _float32_or_libm(_exp_float32, math.exp)


@numba.njit(inline="always", fastmath=True, error_model="numpy")
def _log1p_unit_float32(e):  # pragma: no cover - compiled
    """log1p(e) for float32 e in [0, 1]: 2 atanh(s), s = e / (2 + e) <= 1/3, by its
    series to s^17 (relative error below 1e-7, also for tiny e)."""
    s = e / (np.float32(2.0) + e)
    s2 = s * s
    p = np.float32(1.0 / 17.0)
    for c in (15.0, 13.0, 11.0, 9.0, 7.0, 5.0, 3.0):
        p = p * s2 + np.float32(1.0 / c)
    return np.float32(2.0) * s * (p * s2 + np.float32(1.0))


_log1p_unit = _float32_or_libm(_log1p_unit_float32, math.log1p)  # on [0, 1]


@numba.njit(inline="always", fastmath=True, error_model="numpy")
def _step_sizes(raw, bias, softplus, value, slope):  # pragma: no cover - compiled
    """``value[k]`` = ``raw[k] + bias``, or torch's ``softplus`` of it (which passes
    values above 20 through), and ``slope[k]`` its derivative by ``raw[k]``.  Both
    branches are computed and selected, so the loop vectorizes."""
    zero = value.dtype.type(0.0)
    one = value.dtype.type(1.0)
    if not softplus:
        for k in range(raw.shape[0]):
            value[k] = raw[k] + bias
            slope[k] = one
        return
    for k in range(raw.shape[0]):
        x = raw[k] + bias
        z = _exp(-abs(x))  # in (0, 1]
        smooth = max(x, zero) + _log1p_unit(z)
        smooth_slope = (one if x >= zero else z) / (one + z)
        value[k] = x if x > 20 else smooth
        slope[k] = one if x > 20 else smooth_slope


# 0: the kernels read N from A's shape.  The copies compiled for N = 16 (mamba-ssm's
# default d_state) see it as a constant, so that LLVM sizes the buffers, unrolls and
# vectorizes the state loops for it: the forward 25%, the backward 45% faster than with N
# known only at run time (batch 4 x 256 x 1000, 2 threads, alternated in one process).
# The same for N = 8 measured slower (forward 12.6 -> 21.8 ms), so only 16 is specialised.
# (Hoisting dt * u out of the state loop, or summing A and B terms apart, measured 30%
# slower in the specialised backward: not done.)
_STATE_SIZE = 0
SPECIALIZED_STATE_SIZES = (16,)


def _forward_kernel(u, delta, A, B, C, h0, delta_bias, softplus, y, h_last, h_ckpt,
                    chunk):  # pragma: no cover
    nb, dim, L = u.shape
    N = A.shape[1] if _STATE_SIZE == 0 else _STATE_SIZE
    per_group = dim // B.shape[1]
    for i in numba.prange(nb * dim):
        b = i // dim
        d = i % dim
        g = d // per_group
        h = h0[b, d].copy()
        dts = np.empty(chunk, dtype=u.dtype)
        slopes = np.empty(chunk, dtype=u.dtype)
        for t0 in range(0, L, chunk):
            t1 = min(L, t0 + chunk)
            h_ckpt[b, d, t0 // chunk] = h
            _step_sizes(delta[b, d, t0:t1], delta_bias[d], softplus, dts, slopes)
            for t in range(t0, t1):
                dt = dts[t - t0]
                x = dt * u[b, d, t]
                acc = u.dtype.type(0)
                for n in range(N):
                    h[n] = _exp(dt * A[d, n]) * h[n] + x * B[b, g, t, n]
                    acc += C[b, g, t, n] * h[n]
                y[b, d, t] = acc
        h_last[b, d] = h


def _backward_kernel(
    u, delta, A, B, C, delta_bias, softplus, h_ckpt, dy, dh_last, chunk, n_parts,
    du, ddelta, dA, dB, dC, dh0,
):  # pragma: no cover
    nb, dim, L = u.shape
    N = A.shape[1] if _STATE_SIZE == 0 else _STATE_SIZE
    per_group = dim // B.shape[1]
    n_chunks = h_ckpt.shape[2]
    per_part = (dim + n_parts - 1) // n_parts
    for i in numba.prange(nb * n_parts):
        b = i // n_parts
        p = i % n_parts
        h_buf = np.empty((chunk + 1, CHANNEL_BLOCK, N), dtype=u.dtype)
        e_buf = np.empty((chunk, CHANNEL_BLOCK, N), dtype=u.dtype)
        dts = np.empty((CHANNEL_BLOCK, chunk), dtype=u.dtype)
        slopes = np.empty((CHANNEL_BLOCK, chunk), dtype=u.dtype)
        grad_h = np.empty((CHANNEL_BLOCK, N), dtype=u.dtype)
        grad_A = np.empty((CHANNEL_BLOCK, N), dtype=u.dtype)
        grad_B = np.empty(N, dtype=u.dtype)
        grad_C = np.empty(N, dtype=u.dtype)
        d_end = min(dim, (p + 1) * per_part)
        d0 = p * per_part
        while d0 < d_end:  # blocks of channels within one group
            g = d0 // per_group
            nd = min(d_end, d0 + CHANNEL_BLOCK, (g + 1) * per_group) - d0
            grad_h[:nd] = dh_last[b, d0:d0 + nd]
            grad_A[:nd] = 0
            for c in range(n_chunks - 1, -1, -1):
                t0 = c * chunk
                t1 = min(L, t0 + chunk)
                for j in range(nd):  # the chunk's step sizes and states, from its checkpoint
                    d = d0 + j
                    _step_sizes(delta[b, d, t0:t1], delta_bias[d], softplus, dts[j], slopes[j])
                    h_buf[0, j] = h_ckpt[b, d, c]
                    for t in range(t0, t1):
                        k = t - t0
                        dt = dts[j, k]
                        x = dt * u[b, d, t]
                        for n in range(N):
                            e = _exp(dt * A[d, n])
                            e_buf[k, j, n] = e
                            h_buf[k + 1, j, n] = e * h_buf[k, j, n] + x * B[b, g, t, n]
                for t in range(t1 - 1, t0 - 1, -1):  # the adjoint recurrence
                    k = t - t0
                    grad_B[:] = 0
                    grad_C[:] = 0
                    for j in range(nd):
                        d = d0 + j
                        dt = dts[j, k]
                        uu = u[b, d, t]
                        gy = dy[b, d, t]
                        sum_du = u.dtype.type(0)
                        sum_dd = u.dtype.type(0)
                        for n in range(N):
                            gn = grad_h[j, n] + gy * C[b, g, t, n]
                            grad_C[n] += gy * h_buf[k + 1, j, n]
                            w = gn * h_buf[k, j, n] * e_buf[k, j, n]
                            grad_A[j, n] += w * dt
                            bn = B[b, g, t, n]
                            sum_dd += w * A[d, n] + gn * bn * uu
                            sum_du += gn * bn
                            grad_B[n] += gn * dt * uu
                            grad_h[j, n] = gn * e_buf[k, j, n]
                        du[b, d, t] = sum_du * dt
                        ddelta[b, d, t] = sum_dd * slopes[j, k]  # by the raw delta
                    dB[p, b, g, t] += grad_B
                    dC[p, b, g, t] += grad_C
            dh0[b, d0:d0 + nd] = grad_h[:nd]
            dA[b, d0:d0 + nd] = grad_A[:nd]
            d0 += nd


def _kernels(kernel) -> Dict[int, Dict[bool, Callable]]:
    """State size (0: any) -> the parallel and serial copies of ``kernel``."""
    pairs = {0: compile_pair(kernel)}
    for n in SPECIALIZED_STATE_SIZES:
        pairs[n] = compile_pair(kernel, f"_n{n}", _STATE_SIZE=n)
    return pairs


_FORWARD = _kernels(_forward_kernel)
_BACKWARD = _kernels(_backward_kernel)


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().contiguous().numpy()


class SelectiveScanCPU(torch.autograd.Function):
    """``y_t = C_t h_t``, ``h_t = exp(dt_t A) h_{t-1} + dt_t B_t u_t`` on the CPU, with
    ``dt = delta + delta_bias``, or ``softplus`` of it when ``softplus``.

    Inputs are already float32/float64 and in the kernel layout (see module doc).
    Returns ``(y, h_last)``; both are differentiable.
    """

    @staticmethod
    def forward(ctx, u, delta, A, B, C, h0, delta_bias, softplus: bool):
        nb, dim, L = u.shape
        n_chunks = max(1, -(-L // CHUNK))
        y = torch.empty_like(u)
        h_last = torch.empty_like(h0)
        h_ckpt = u.new_empty(nb, dim, n_chunks, A.shape[1])
        if u.numel():
            with choose(_FORWARD.get(A.shape[1], _FORWARD[0])) as forward:
                forward(*[_np(x) for x in (u, delta, A, B, C, h0, delta_bias)], softplus,
                        y.numpy(), h_last.numpy(), h_ckpt.numpy(), CHUNK)
        else:  # nothing to scan: the last state is the initial one
            h_last.copy_(h0)
        ctx.softplus = softplus
        ctx.save_for_backward(u, delta, A, B, C, delta_bias, h_ckpt)
        return y, h_last

    @staticmethod
    def backward(ctx, dy, dh_last):
        u, delta, A, B, C, delta_bias, h_ckpt = ctx.saved_tensors
        nb, dim, L = u.shape
        dy = torch.zeros_like(u) if dy is None else dy.to(u.dtype)
        dh_last = (
            u.new_zeros(nb, dim, A.shape[1]) if dh_last is None else dh_last.to(u.dtype)
        )
        if not u.numel():  # empty batch or length: the state passes through unchanged
            return (torch.zeros_like(u), torch.zeros_like(u), torch.zeros_like(A),
                    torch.zeros_like(B), torch.zeros_like(C), dh_last.clone(),
                    torch.zeros_like(delta_bias), None)
        pair = _BACKWARD.get(A.shape[1], _BACKWARD[0])
        with choose(pair) as backward:
            # Enough (batch, channel-slice) work units for every thread; each slice owns
            # a partial dB/dC buffer because channels of one group share B and C.
            threads = 1 if backward is pair[False] else numba.get_num_threads()
            n_parts = min(dim, -(-threads // nb))
            du = torch.empty_like(u)
            ddelta = torch.empty_like(u)
            dA = u.new_empty(nb, dim, A.shape[1])  # every entry written by the kernel
            dB = u.new_zeros((n_parts,) + tuple(B.shape))
            dC = u.new_zeros((n_parts,) + tuple(C.shape))
            dh0 = torch.empty_like(dh_last)
            backward(
                *[_np(x) for x in (u, delta, A, B, C, delta_bias)], ctx.softplus,
                *[_np(x) for x in (h_ckpt, dy, dh_last)], CHUNK, n_parts,
                du.numpy(), ddelta.numpy(), dA.numpy(), dB.numpy(), dC.numpy(), dh0.numpy(),
            )
        ddelta_bias = ddelta.sum((0, 2)) if ctx.needs_input_grad[6] else None
        return du, ddelta, dA.sum(0), dB.sum(0), dC.sum(0), dh0, ddelta_bias, None


def scan_cpu(
    u: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    h0: Optional[torch.Tensor],
    delta_bias: Optional[torch.Tensor] = None,
    delta_softplus: bool = False,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Run the fused CPU kernel. B, C: (batch, G, N, L); the step sizes are ``delta``
    plus ``delta_bias`` (dim,), through ``softplus`` if ``delta_softplus``, made inside
    the kernel; returns y (batch, dim, L), h_last."""
    if h0 is None:
        h0 = u.new_zeros(u.shape[0], u.shape[1], A.shape[1])
    if delta_bias is None:
        delta_bias = u.new_zeros(u.shape[1])
    return SelectiveScanCPU.apply(
        u.contiguous(),
        delta.contiguous(),
        A.contiguous(),
        B.transpose(-1, -2).contiguous(),
        C.transpose(-1, -2).contiguous(),
        h0.to(u.dtype).contiguous(),
        delta_bias.to(u.dtype).contiguous(),
        bool(delta_softplus),
    )
