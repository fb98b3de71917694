"""Which numba kernels a CPU call may run: parallel (numba's threading layer) or serial.

Every CPU kernel here is compiled twice by :func:`compile_pair`: parallel over its outer
loop, and serial.  Both numba's default threading layer here and torch's intra-op pool
run on GNU OpenMP, which does not survive ``fork()``: a forked child that enters a
parallel region after its parent ran one hangs, or numba kills it ("fork() called from
a process already using GNU OpenMP"); numba's ``workqueue`` fallback aborts when two
Python threads enter it at once.  Rather than require numba's ``tbb`` layer (a PyPI
wheel whose versions numba accepts only within a range, and which would leave torch's
pool unsafe all the same), the serial kernels run where the parallel ones are unsafe or
useless: in a process made by ``fork()`` (which is also set to one torch thread, as
PyTorch's DataLoader does for its workers), while another Python thread is inside a
parallel kernel, and inside :func:`single_threaded` (streaming chunks).  Spawned
children are fresh processes and run in parallel.
"""
import contextlib
import os
import threading
import types as pytypes
from typing import Any, Callable, Dict, Iterator

import numba
import torch

JIT_OPTIONS = dict(nogil=True, fastmath=True, cache=True, error_model="numpy")


def compile_pair(kernel: Callable, suffix: str = "", **constants: Any) -> Dict[bool, Callable]:
    """``{True: parallel, False: serial}`` njit copies of ``kernel``, named
    ``kernel.__name__ + suffix`` (and ``"_serial"``): numba's on-disk cache is keyed by
    the qualified name, so each copy needs its own.  ``constants`` replace module globals
    of ``kernel`` in both copies; numba compiles globals in as constants."""
    scope = {**kernel.__globals__, **constants} if constants else kernel.__globals__

    def copy(name: str) -> Callable:
        function = pytypes.FunctionType(kernel.__code__, scope, name)
        function.__qualname__ = name
        return function

    name = kernel.__name__ + suffix
    return {True: numba.njit(parallel=True, **JIT_OPTIONS)(copy(name)),
            False: numba.njit(parallel=False, **JIT_OPTIONS)(copy(name + "_serial"))}


class _Threads:
    """The policy of the module doc."""

    parallel_lock = threading.Lock()  # held while a parallel kernel runs
    local = threading.local()  # .serial: inside single_threaded()
    forked = False  # this process was made by fork(): OpenMP is unsafe here

    @classmethod
    def after_fork_in_child(cls) -> None:
        cls.parallel_lock = threading.Lock()
        cls.forked = True
        torch.set_num_threads(1)  # torch's GNU OpenMP pool would hang as well


os.register_at_fork(after_in_child=_Threads.after_fork_in_child)


@contextlib.contextmanager
def choose(pair: Dict[bool, Any]) -> Iterator[Any]:
    """Yield ``pair[True]`` (the parallel kernel, or kernels) where parallel kernels are
    safe and no other thread runs one, else ``pair[False]``."""
    if (_Threads.forked or getattr(_Threads.local, "serial", False)
            or not _Threads.parallel_lock.acquire(blocking=False)):
        yield pair[False]
        return
    try:
        yield pair[True]
    finally:
        _Threads.parallel_lock.release()


def in_forked_child() -> bool:
    """True in a process made by ``fork()``: the kernels run serially here."""
    return _Threads.forked


@contextlib.contextmanager
def single_threaded() -> Iterator[None]:
    """Run the CPU kernels on the calling thread only, meanwhile (same results).

    For small inputs, e.g. a streaming chunk of a few frames: waking the thread pool
    next to torch's costs more than the kernel itself (tens of ms on a busy CPU).
    """
    previous = getattr(_Threads.local, "serial", False)
    _Threads.local.serial = True
    try:
        yield
    finally:
        _Threads.local.serial = previous
