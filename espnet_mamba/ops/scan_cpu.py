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
The skip ``D u`` and the gate ``silu(z)`` are applied to each row after its recurrence
(in the step loop they slowed it ~30%); the backward undoes them in an element-wise
kernel first (:func:`_gate_backward_kernel`), keeping the gate's input (``ungated``)
from the forward.  With ``reverse`` both kernels visit each utterance's frames from its
last real one back to the first, then its padding (:func:`_frame`).

Threads: the parallel kernels run over (batch, channel) where
:mod:`espnet_mamba.ops.cpu_threads` allows it, the serial ones elsewhere.  The serial
forward gives the same numbers bit for bit; the serial backward sums the B/C gradients
of a group in another order (float rounding).

Shapes (all contiguous, same float dtype; lengths int64):
    u, delta, z: (batch, dim, L)    A: (dim, N)          D, delta_bias: (dim,)
    B, C:        (batch, G, L, N)   h0: (batch, dim, N)  lengths: (batch,)
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
from espnet_mamba.ops.lengths import kernel_lengths

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


@numba.njit(inline="always")
def _frame(k, n_real, reverse):  # pragma: no cover - compiled
    """The frame that step ``k`` of a scan visits: with ``reverse``, the utterance's real
    frames from its last (``n_real - 1``) to its first, then its padding in order (as
    the scan of :func:`~espnet_mamba.ops.lengths.reverse_padded` input would)."""
    return n_real - 1 - k if reverse and k < n_real else k


@numba.njit(inline="always")
def _chunk_step_sizes(delta, b, d, t0, t1, n_real, reverse, delta_bias, softplus, raw,
                      value, slope):  # pragma: no cover - compiled
    """:func:`_step_sizes` of scan steps ``t0 .. t1 - 1`` of row ``delta[b, d]``."""
    if reverse:
        for k in range(t0, t1):
            raw[k - t0] = delta[b, d, _frame(k, n_real, reverse)]
    else:
        raw[:t1 - t0] = delta[b, d, t0:t1]
    _step_sizes(raw[:t1 - t0], delta_bias[d], softplus, value, slope)


def _forward_kernel(u, delta, A, B, C, D, z, h0, delta_bias, softplus, gate, lengths,
                    reverse, y, ungated, h_last, h_ckpt, chunk):  # pragma: no cover
    nb, dim, L = u.shape
    N = A.shape[1] if _STATE_SIZE == 0 else _STATE_SIZE
    per_group = dim // B.shape[1]
    one = u.dtype.type(1)
    for i in numba.prange(nb * dim):
        b = i // dim
        d = i % dim
        g = d // per_group
        n_real = lengths[b]
        h = h0[b, d].copy()
        raw = np.empty(chunk, dtype=u.dtype)
        dts = np.empty(chunk, dtype=u.dtype)
        slopes = np.empty(chunk, dtype=u.dtype)
        for t0 in range(0, L, chunk):
            t1 = min(L, t0 + chunk)
            h_ckpt[b, d, t0 // chunk] = h
            _chunk_step_sizes(delta, b, d, t0, t1, n_real, reverse, delta_bias, softplus,
                              raw, dts, slopes)
            for k in range(t0, t1):
                t = _frame(k, n_real, reverse)
                dt = dts[k - t0]
                x = dt * u[b, d, t]
                acc = u.dtype.type(0)
                for n in range(N):
                    h[n] = _exp(dt * A[d, n]) * h[n] + x * B[b, g, t, n]
                    acc += C[b, g, t, n] * h[n]
                y[b, d, t] = acc
        h_last[b, d] = h
        # The skip and the gate, in frame order (kept out of the recurrence's loop, which
        # they slow down): y = (C h + D u) silu(z)
        for t in range(L):
            out = y[b, d, t] + D[d] * u[b, d, t]
            if gate:
                ungated[b, d, t] = out
                out = out * z[b, d, t] / (one + _exp(-z[b, d, t]))
            y[b, d, t] = out


def _backward_kernel(
    u, delta, A, B, C, D, delta_bias, softplus, lengths, reverse, h_ckpt, dy, dh_last,
    chunk, n_parts, du, ddelta, dA, dB, dC, dh0,
):  # pragma: no cover
    nb, dim, L = u.shape
    N = A.shape[1] if _STATE_SIZE == 0 else _STATE_SIZE
    per_group = dim // B.shape[1]
    n_chunks = h_ckpt.shape[2]
    per_part = (dim + n_parts - 1) // n_parts
    for i in numba.prange(nb * n_parts):
        b = i // n_parts
        p = i % n_parts
        n_real = lengths[b]
        h_buf = np.empty((chunk + 1, CHANNEL_BLOCK, N), dtype=u.dtype)
        e_buf = np.empty((chunk, CHANNEL_BLOCK, N), dtype=u.dtype)
        raw = np.empty(chunk, dtype=u.dtype)
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
                    _chunk_step_sizes(delta, b, d, t0, t1, n_real, reverse, delta_bias,
                                      softplus, raw, dts[j], slopes[j])
                    h_buf[0, j] = h_ckpt[b, d, c]
                    for kk in range(t1 - t0):
                        t = _frame(t0 + kk, n_real, reverse)
                        dt = dts[j, kk]
                        x = dt * u[b, d, t]
                        for n in range(N):
                            e = _exp(dt * A[d, n])
                            e_buf[kk, j, n] = e
                            h_buf[kk + 1, j, n] = e * h_buf[kk, j, n] + x * B[b, g, t, n]
                for k in range(t1 - 1, t0 - 1, -1):  # the adjoint recurrence
                    t = _frame(k, n_real, reverse)
                    kk = k - t0
                    grad_B[:] = 0
                    grad_C[:] = 0
                    for j in range(nd):
                        d = d0 + j
                        dt = dts[j, kk]
                        uu = u[b, d, t]
                        gy = dy[b, d, t]  # by C h (from _gate_backward_kernel)
                        sum_du = u.dtype.type(0)
                        sum_dd = u.dtype.type(0)
                        for n in range(N):
                            gn = grad_h[j, n] + gy * C[b, g, t, n]
                            grad_C[n] += gy * h_buf[kk + 1, j, n]
                            w = gn * h_buf[kk, j, n] * e_buf[kk, j, n]
                            grad_A[j, n] += w * dt
                            bn = B[b, g, t, n]
                            sum_dd += w * A[d, n] + gn * bn * uu
                            sum_du += gn * bn
                            grad_B[n] += gn * dt * uu
                            grad_h[j, n] = gn * e_buf[kk, j, n]
                        du[b, d, t] = sum_du * dt + gy * D[d]
                        ddelta[b, d, t] = sum_dd * slopes[j, kk]  # by the raw delta
                    dB[p, b, g, t] += grad_B
                    dC[p, b, g, t] += grad_C
            dh0[b, d0:d0 + nd] = grad_h[:nd]
            dA[b, d0:d0 + nd] = grad_A[:nd]
            d0 += nd


def _gate_backward_kernel(u, D, z, gate, ungated, dout, dy, dz, dD):  # pragma: no cover
    """The gradient by ``C h`` (``dy``), ``z`` and ``D`` from the output's: the
    backward of the forward kernel's epilogue, ahead of the scan's own."""
    nb, dim, L = u.shape
    one = u.dtype.type(1)
    for i in numba.prange(nb * dim):
        b = i // dim
        d = i % dim
        total = u.dtype.type(0)
        for t in range(L):
            g = dout[b, d, t]
            if gate:
                sig = one / (one + _exp(-z[b, d, t]))
                dz[b, d, t] = g * ungated[b, d, t] * sig * (one + z[b, d, t] * (one - sig))
                g = g * z[b, d, t] * sig
            dy[b, d, t] = g
            total += g * u[b, d, t]
        dD[b, d] = total


def _kernels(kernel) -> Dict[int, Dict[bool, Callable]]:
    """State size (0: any) -> the parallel and serial copies of ``kernel``."""
    pairs = {0: compile_pair(kernel)}
    for n in SPECIALIZED_STATE_SIZES:
        pairs[n] = compile_pair(kernel, f"_n{n}", _STATE_SIZE=n)
    return pairs


_FORWARD = _kernels(_forward_kernel)
_BACKWARD = _kernels(_backward_kernel)
_GATE_BACKWARD = compile_pair(_gate_backward_kernel)


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().contiguous().numpy()


class SelectiveScanCPU(torch.autograd.Function):
    """``h_t = exp(dt_t A) h_{t-1} + dt_t B_t u_t``, ``y_t = (C_t h_t + D u_t) silu(z_t)``
    on the CPU, with ``dt = delta + delta_bias``, or ``softplus`` of it when ``softplus``;
    the gate only when ``gate``.  With ``reverse`` each utterance is scanned from frame
    ``lengths[b] - 1`` back to 0, then its padding (see :func:`_frame`).

    Inputs are already float32/float64 and in the kernel layout (see module doc); ``z``
    is ignored without ``gate``.  Returns ``(y, h_last)``; both are differentiable.
    """

    @staticmethod
    def forward(ctx, u, delta, A, B, C, D, z, h0, delta_bias, softplus: bool, gate: bool,
                lengths, reverse: bool):
        nb, dim, L = u.shape
        n_chunks = max(1, -(-L // CHUNK))
        y = torch.empty_like(u)
        ungated = torch.empty_like(u) if gate else u.new_empty(1, 1, 1)
        h_last = torch.empty_like(h0)
        h_ckpt = u.new_empty(nb, dim, n_chunks, A.shape[1])
        if u.numel():
            with choose(_FORWARD.get(A.shape[1], _FORWARD[0])) as forward:
                forward(*[_np(x) for x in (u, delta, A, B, C, D, z, h0, delta_bias)], softplus,
                        gate, lengths.numpy(), reverse, y.numpy(), ungated.numpy(),
                        h_last.numpy(), h_ckpt.numpy(), CHUNK)
        else:  # nothing to scan: the last state is the initial one
            h_last.copy_(h0)
        ctx.flags = softplus, gate, reverse
        ctx.save_for_backward(u, delta, A, B, C, D, z, delta_bias, lengths, ungated, h_ckpt)
        return y, h_last

    @staticmethod
    def backward(ctx, dout, dh_last):
        u, delta, A, B, C, D, z, delta_bias, lengths, ungated, h_ckpt = ctx.saved_tensors
        softplus, gate, reverse = ctx.flags
        nb, dim, L = u.shape
        dout = torch.zeros_like(u) if dout is None else dout.to(u.dtype)
        dh_last = (
            u.new_zeros(nb, dim, A.shape[1]) if dh_last is None else dh_last.to(u.dtype)
        )
        new = u.new_empty if u.numel() else u.new_zeros  # the kernels write every entry
        du, ddelta, dy = new(u.shape), new(u.shape), new(u.shape)
        dA = new(nb, dim, A.shape[1])
        dB, dC = torch.zeros_like(B), torch.zeros_like(C)
        dD = new(nb, dim)
        dz = new(u.shape) if gate else None
        dh0 = dh_last.clone()  # with no step to scan, the state passes through unchanged
        if u.numel():
            with choose(_GATE_BACKWARD) as gate_backward:
                gate_backward(*[_np(x) for x in (u, D, z)], gate, *[_np(x) for x in (
                    ungated, dout)], dy.numpy(), (dz if gate else ungated).numpy(), dD.numpy())
            pair = _BACKWARD.get(A.shape[1], _BACKWARD[0])
            with choose(pair) as backward:
                # Enough (batch, channel-slice) work units for every thread; each slice
                # owns a partial dB/dC buffer because channels of one group share B and C.
                threads = 1 if backward is pair[False] else numba.get_num_threads()
                n_parts = min(dim, -(-threads // nb))
                dB = u.new_zeros((n_parts,) + tuple(B.shape))
                dC = u.new_zeros((n_parts,) + tuple(C.shape))
                backward(
                    *[_np(x) for x in (u, delta, A, B, C, D, delta_bias)], softplus,
                    lengths.numpy(), reverse, *[_np(x) for x in (h_ckpt, dy, dh_last)],
                    CHUNK, n_parts, du.numpy(), ddelta.numpy(), dA.numpy(), dB.numpy(),
                    dC.numpy(), dh0.numpy(),
                )
                dB, dC = dB.sum(0), dC.sum(0)
        ddelta_bias = ddelta.sum((0, 2)) if ctx.needs_input_grad[8] else None
        return (du, ddelta, dA.sum(0), dB, dC, dD.sum(0), dz, dh0, ddelta_bias,
                None, None, None, None)


def scan_cpu(
    u: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    h0: Optional[torch.Tensor],
    delta_bias: Optional[torch.Tensor] = None,
    delta_softplus: bool = False,
    D: Optional[torch.Tensor] = None,
    z: Optional[torch.Tensor] = None,
    lengths: Optional[torch.Tensor] = None,
    reverse: bool = False,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Run the fused CPU kernel. B, C: (batch, G, N, L); the step sizes are ``delta``
    plus ``delta_bias`` (dim,), through ``softplus`` if ``delta_softplus``, made inside
    the kernel, and so are the skip ``D`` (dim,) and the gate ``silu(z)`` (batch, dim, L)
    when given.  ``reverse`` scans each utterance backwards from frame ``lengths[b] - 1``
    (the last frame without ``lengths``), output in the input's frame order.  Returns
    y (batch, dim, L), h_last (the state after the last step scanned)."""
    nb, dim, _ = u.shape
    if h0 is None:
        h0 = u.new_zeros(nb, dim, A.shape[1])
    return SelectiveScanCPU.apply(
        u.contiguous(),
        delta.contiguous(),
        A.contiguous(),
        B.transpose(-1, -2).contiguous(),
        C.transpose(-1, -2).contiguous(),
        u.new_zeros(dim) if D is None else D.to(u.dtype).contiguous(),
        u.new_empty(1, 1, 1) if z is None else z.to(u.dtype).contiguous(),
        h0.to(u.dtype).contiguous(),
        u.new_zeros(dim) if delta_bias is None else delta_bias.to(u.dtype).contiguous(),
        bool(delta_softplus),
        z is not None,
        kernel_lengths(lengths, u),
        bool(reverse),
    )
