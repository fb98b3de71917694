"""Benchmark cases by family: ``kernels`` (scans), ``layers`` (blocks, attention),
``encoders`` and ``separators`` (whole models over audio durations), ``decoders`` (beam
search steps), ``longform`` (``Speech2Text`` on minutes of audio).

A factory takes ``device`` and its sizes and returns ``(forward, backward)`` callables
(``backward`` gets ``forward``'s output, or is None), optionally with a third,
``report()``, whose numbers land in the result rows (:mod:`espnet_mamba.bench.harness`).
"""
from typing import Callable, Dict, Optional, Tuple

import torch

Forward = Callable[[], torch.Tensor]
Backward = Optional[Callable[[torch.Tensor], None]]
Fns = Tuple[Forward, Backward]
ModelFns = Tuple[Forward, Backward, Callable[[], Dict[str, float]]]


def backward_of_sum(out: torch.Tensor) -> None:
    """Backward of ``out.sum()``."""
    out.backward(torch.ones_like(out))


def model_step(model: torch.nn.Module, inputs: Callable[[float], tuple], seconds: float,
               mode: str) -> ModelFns:
    """``infer``: no_grad forward in eval mode; ``train``: squared-output loss and its
    backward in train mode.  One step on 1 s of input runs here, in set-up, so one-time
    costs (numba compiling, allocator pools) do not count in the measurement.

    Args:
        model: The model, on its device.
        inputs: ``seconds -> (input, lengths)`` for ``model``.
        seconds: Audio duration of the measured input.
        mode: ``infer`` or ``train``.
    """
    if mode not in ("infer", "train"):
        raise ValueError(f"mode must be 'infer' or 'train'; got {mode!r}")
    model.train(mode == "train")

    def step(args: tuple) -> Callable[[], torch.Tensor]:
        if mode == "train":
            return lambda: model(*args)[0].float().square().mean()

        def forward() -> torch.Tensor:
            with torch.no_grad():
                return model(*args)[0]

        return forward

    backward = (lambda loss: loss.backward()) if mode == "train" else None
    out = step(inputs(min(seconds, 1.0)))()
    if backward is not None:
        backward(out)
        model.zero_grad(set_to_none=True)
    del out

    def report() -> Dict[str, float]:
        return {"params_m": sum(p.numel() for p in model.parameters()) / 1e6}

    return step(inputs(seconds)), backward, report
