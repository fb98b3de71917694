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
too, where a libm call would not. float64 uses ``math.exp``.

Threads.  Each kernel is compiled twice: parallel over (batch, channel) on numba's
threading layer, and serial.  Both numba's default layer here and torch's intra-op pool
run on GNU OpenMP, which does not survive ``fork()``: a forked child that enters a
parallel region after its parent ran one hangs, or numba kills it ("fork() called from
a process already using GNU OpenMP"); numba's ``workqueue`` fallback aborts when two
Python threads enter it at once.  Rather than require numba's ``tbb`` layer (a PyPI
wheel whose versions numba accepts only within a range, and which would leave torch's
pool unsafe all the same), the serial kernels run where the parallel ones are unsafe or
useless: in a process made by ``fork()`` (which is also set to one torch thread, as
PyTorch's DataLoader does for its workers), while another Python thread is inside a
parallel kernel, and inside :func:`single_threaded` (streaming chunks).  Spawned
children are fresh processes and run in parallel.  The serial forward gives the same
numbers bit for bit; the serial backward sums the B/C gradients of a group in another
order (float rounding).

Shapes (all contiguous, same float dtype):
    u, delta: (batch, dim, L)       A: (dim, N)
    B, C:     (batch, G, L, N)      h0: (batch, dim, N)
"""
import contextlib
import math
import os
import threading
import types as pytypes
from typing import Iterator, Optional, Tuple

import numba
import numpy as np
import torch
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload

CHUNK = 64
CHANNEL_BLOCK = 16  # channels per pass of the backward (see _backward_kernel)

_JIT = dict(nogil=True, fastmath=True, cache=True, error_model="numpy")


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


def _exp(x):
    """exp for the kernels (the numba overload below picks the implementation)."""
    return math.exp(x)


@overload(_exp, inline="always")
def _exp_overload(x):  # pragma: no cover - compiled
    if x == types.float32:
        return lambda x: _exp_float32(x)
    return lambda x: math.exp(x)


def _forward_kernel(u, delta, A, B, C, h0, y, h_last, h_ckpt, chunk):  # pragma: no cover
    nb, dim, L = u.shape
    N = A.shape[1]
    per_group = dim // B.shape[1]
    for i in numba.prange(nb * dim):
        b = i // dim
        d = i % dim
        g = d // per_group
        h = h0[b, d].copy()
        for t in range(L):
            if t % chunk == 0:
                h_ckpt[b, d, t // chunk] = h
            dt = delta[b, d, t]
            x = dt * u[b, d, t]
            acc = u.dtype.type(0)
            for n in range(N):
                h[n] = _exp(dt * A[d, n]) * h[n] + x * B[b, g, t, n]
                acc += C[b, g, t, n] * h[n]
            y[b, d, t] = acc
        h_last[b, d] = h


def _backward_kernel(
    u, delta, A, B, C, h_ckpt, dy, dh_last, chunk, n_parts,
    du, ddelta, dA, dB, dC, dh0,
):  # pragma: no cover
    nb, dim, L = u.shape
    N = A.shape[1]
    per_group = dim // B.shape[1]
    n_chunks = h_ckpt.shape[2]
    per_part = (dim + n_parts - 1) // n_parts
    for i in numba.prange(nb * n_parts):
        b = i // n_parts
        p = i % n_parts
        h_buf = np.empty((chunk + 1, CHANNEL_BLOCK, N), dtype=u.dtype)
        e_buf = np.empty((chunk, CHANNEL_BLOCK, N), dtype=u.dtype)
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
                for j in range(nd):  # the chunk's states, from its checkpoint
                    d = d0 + j
                    h_buf[0, j] = h_ckpt[b, d, c]
                    for t in range(t0, t1):
                        k = t - t0
                        dt = delta[b, d, t]
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
                        dt = delta[b, d, t]
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
                        ddelta[b, d, t] = sum_dd
                    dB[p, b, g, t] += grad_B
                    dC[p, b, g, t] += grad_C
            dh0[b, d0:d0 + nd] = grad_h[:nd]
            dA[b, d0:d0 + nd] = grad_A[:nd]
            d0 += nd


def _compile(kernel, parallel: bool):
    """njit ``kernel``; the serial copy gets its own name so numba's on-disk cache
    (keyed by the function's qualified name) keeps the two apart."""
    if not parallel:
        kernel = pytypes.FunctionType(kernel.__code__, kernel.__globals__,
                                      kernel.__name__ + "_serial")
        kernel.__qualname__ = kernel.__name__
    return numba.njit(parallel=parallel, **_JIT)(kernel)


_KERNELS = {parallel: (_compile(_forward_kernel, parallel), _compile(_backward_kernel, parallel))
            for parallel in (True, False)}


class _Threads:
    """Which kernels a call may use (see the module doc)."""

    parallel_lock = threading.Lock()  # held while a parallel kernel runs
    local = threading.local()  # .serial: inside single_threaded()
    forked = False  # this process was made by fork(): OpenMP is unsafe here

    @classmethod
    def after_fork_in_child(cls) -> None:
        cls.parallel_lock = threading.Lock()
        cls.forked = True
        torch.set_num_threads(1)  # torch's GNU OpenMP pool would hang as well

    @classmethod
    @contextlib.contextmanager
    def kernels(cls) -> Iterator[tuple]:
        """(forward, backward) kernels for this call."""
        if (cls.forked or getattr(cls.local, "serial", False)
                or not cls.parallel_lock.acquire(blocking=False)):
            yield _KERNELS[False]
            return
        try:
            yield _KERNELS[True]
        finally:
            cls.parallel_lock.release()


os.register_at_fork(after_in_child=_Threads.after_fork_in_child)


def in_forked_child() -> bool:
    """True in a process made by ``fork()``: the scan runs its serial kernels here."""
    return _Threads.forked


@contextlib.contextmanager
def single_threaded() -> Iterator[None]:
    """Run the CPU scan on the calling thread only, meanwhile (same results).

    For small inputs, e.g. a streaming chunk of a few frames: waking the thread pool
    next to torch's costs more than the scan itself (tens of ms on a busy CPU).
    """
    previous = getattr(_Threads.local, "serial", False)
    _Threads.local.serial = True
    try:
        yield
    finally:
        _Threads.local.serial = previous


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().contiguous().numpy()


class SelectiveScanCPU(torch.autograd.Function):
    """``y_t = C_t h_t``, ``h_t = exp(delta_t A) h_{t-1} + delta_t B_t u_t`` on the CPU.

    Inputs are already float32/float64 and in the kernel layout (see module doc).
    Returns ``(y, h_last)``; both are differentiable.
    """

    @staticmethod
    def forward(ctx, u, delta, A, B, C, h0):
        nb, dim, L = u.shape
        n_chunks = max(1, -(-L // CHUNK))
        y = torch.empty_like(u)
        h_last = torch.empty_like(h0)
        h_ckpt = u.new_empty(nb, dim, n_chunks, A.shape[1])
        args = [_np(x) for x in (u, delta, A, B, C, h0)]
        if u.numel():
            with _Threads.kernels() as (forward, _):
                forward(*args, y.numpy(), h_last.numpy(), h_ckpt.numpy(), CHUNK)
        else:  # nothing to scan: the last state is the initial one
            h_last.copy_(h0)
        ctx.save_for_backward(u, delta, A, B, C, h_ckpt)
        return y, h_last

    @staticmethod
    def backward(ctx, dy, dh_last):
        u, delta, A, B, C, h_ckpt = ctx.saved_tensors
        nb, dim, L = u.shape
        dy = torch.zeros_like(u) if dy is None else dy.to(u.dtype)
        dh_last = (
            u.new_zeros(nb, dim, A.shape[1]) if dh_last is None else dh_last.to(u.dtype)
        )
        if not u.numel():  # empty batch or length: the state passes through unchanged
            return (torch.zeros_like(u), torch.zeros_like(u), torch.zeros_like(A),
                    torch.zeros_like(B), torch.zeros_like(C), dh_last.clone())
        with _Threads.kernels() as (_, backward):
            # Enough (batch, channel-slice) work units for every thread; each slice owns
            # a partial dB/dC buffer because channels of one group share B and C.
            threads = 1 if backward is _KERNELS[False][1] else numba.get_num_threads()
            n_parts = min(dim, -(-threads // nb))
            du = torch.empty_like(u)
            ddelta = torch.empty_like(u)
            dA = u.new_empty(nb, dim, A.shape[1])  # every entry written by the kernel
            dB = u.new_zeros((n_parts,) + tuple(B.shape))
            dC = u.new_zeros((n_parts,) + tuple(C.shape))
            dh0 = torch.empty_like(dh_last)
            backward(
                *[_np(x) for x in (u, delta, A, B, C, h_ckpt, dy, dh_last)],
                CHUNK, n_parts,
                du.numpy(), ddelta.numpy(), dA.numpy(), dB.numpy(), dC.numpy(), dh0.numpy(),
            )
        return du, ddelta, dA.sum(0), dB.sum(0), dC.sum(0), dh0


def scan_cpu(
    u: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    h0: Optional[torch.Tensor],
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Run the fused CPU kernel. B, C: (batch, G, N, L); returns y (batch, dim, L), h_last."""
    if h0 is None:
        h0 = u.new_zeros(u.shape[0], u.shape[1], A.shape[1])
    return SelectiveScanCPU.apply(
        u.contiguous(),
        delta.contiguous(),
        A.contiguous(),
        B.transpose(-1, -2).contiguous(),
        C.transpose(-1, -2).contiguous(),
        h0.to(u.dtype).contiguous(),
    )
