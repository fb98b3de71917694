"""Training steps of Mamba models against their baselines (``python -m espnet_mamba.bench
train``): the pairs and batch shapes that recipes train with, both models of a pair in
one process, timed in turns (A, B, A, B, ...) so that a slower or busier moment of the
machine hits both; the median of the repeats counts.  A profile of one step per model
(torch.profiler, self CPU time) says where the time goes.

A step is forward, a squared-output loss, backward and ``zero_grad`` (no optimizer:
both models would pay the same per parameter).  Inputs are random; utterance lengths
as in a real batch (``short``: how many are shorter, and their duration).
"""
import statistics
import time
from typing import Callable, Dict, List, Tuple

import torch

from espnet_mamba.bench.cases import encoders, kernels, layers, separators

# setting -> pair (Mamba model first), batch, seconds, (how many shorter, their seconds);
# the reference size of the family unless "size" says otherwise
SETTINGS: Dict[str, dict] = {
    "asr 8x5s": dict(family="encoders", pair=("conmamba", "conformer"), batch=8,
                     seconds=5.0, short=(2, 4.3)),
    "asr 4x15s": dict(family="encoders", pair=("conmamba", "conformer"), batch=4,
                      seconds=15.0, short=(1, 12.0)),
    "enh 2x4s": dict(family="separators", pair=("mamba_tasnet_xs", "conv_tasnet"), batch=2,
                     seconds=4.0, short=(0, 0.0)),
    "enh 4x1s": dict(family="separators", pair=("mamba_tasnet_xs", "conv_tasnet"), batch=4,
                     seconds=1.0, short=(0, 0.0)),
    "scan L=2000": dict(family="kernels", pair=("selective_scan", "attention"), batch=4,
                        dim=256, state=16, length=2000),
}
GOALS = {"scan L=2000": 0.15}  # the ratio each setting should reach (default 1.0)
KERNEL_LABELS = {"selective_scan": "selective_scan (D, z, delta_bias, softplus)",
                 "attention": "MultiheadAttention(256, 4)"}
FAMILIES = {"encoders": encoders, "separators": separators}


def batch_inputs(family: str, batch: int, seconds: float, short: Tuple[int, float]
                 ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Random padded input and lengths: fbank frames (encoders) or 8 kHz samples
    (separators); the last ``short[0]`` utterances last ``short[1]`` seconds."""
    g = torch.Generator().manual_seed(0)
    if family == "encoders":
        rate, shape = encoders.FRAMES_PER_SECOND, (encoders.FBANK_DIM,)
    else:
        rate, shape = separators.SAMPLE_RATE, ()
    full = round(seconds * rate)
    lengths = torch.full((batch,), full, dtype=torch.long)
    if short[0]:
        lengths[batch - short[0]:] = round(short[1] * rate)
    return torch.randn(batch, full, *shape, generator=g), lengths


def training_step(model: torch.nn.Module, x: torch.Tensor, lengths: torch.Tensor
                  ) -> Callable[[], None]:
    """One forward + backward of ``model`` on the batch (train mode)."""
    model.train()

    def step() -> None:
        loss = model(x, lengths)[0].float().square().mean()
        loss.backward()
        model.zero_grad(set_to_none=True)

    return step


def kernel_step(kind: str, batch: int, dim: int, state: int, length: int
                ) -> Callable[[], None]:
    """Forward + backward of the bare scan (with D, z, delta_bias and softplus:
    :func:`.kernels.scan_project`) or of one ``MultiheadAttention(dim, 4)``
    (:func:`.layers.attention`) on ``length`` steps."""
    if kind == "attention":
        forward, backward = layers.attention("cpu", batch, dim, length)
    else:
        forward, backward = kernels.scan_project("cpu", batch, dim, state, length,
                                                 delta_bias=True)
    return lambda: backward(forward())


def build_steps(spec: dict) -> Dict[str, Callable[[], None]]:
    """label -> step of both models of a setting (Mamba first)."""
    if spec["family"] == "kernels":
        sizes = {k: spec[k] for k in ("batch", "dim", "state", "length")}
        return {KERNEL_LABELS[kind]: kernel_step(kind, **sizes) for kind in spec["pair"]}
    family = FAMILIES[spec["family"]]
    x, lengths = batch_inputs(spec["family"], spec["batch"], spec["seconds"], spec["short"])
    size = spec.get("size", family.SIZES[0])
    return {family.LABELS[kind]: training_step(family.build(kind, size), x, lengths)
            for kind in spec["pair"]}


def top_ops(step: Callable[[], None], count: int) -> List[Tuple[str, float, float]]:
    """(op, self CPU ms, % of the step's self CPU time) of the ``count`` costliest ops of
    one profiled step."""
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        step()
    events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in events) or 1.0
    return [(e.key, e.self_cpu_time_total / 1e3, 100.0 * e.self_cpu_time_total / total)
            for e in events[:count]]


def measure(setting: str, repeats: int = 3, warmup: int = 1, profile_ops: int = 0) -> dict:
    """Time both models of ``setting`` in turns; their medians, ratio and profiles."""
    steps = build_steps(SETTINGS[setting])
    for _ in range(warmup):
        for step in steps.values():
            step()
    times: Dict[str, List[float]] = {label: [] for label in steps}
    for _ in range(repeats):
        for label, step in steps.items():
            start = time.perf_counter()
            step()
            times[label].append(time.perf_counter() - start)
    (mamba, mamba_s), (baseline, baseline_s) = (
        (label, statistics.median(t)) for label, t in times.items())
    row = dict(setting=setting, mamba=mamba, baseline=baseline, mamba_s=mamba_s,
               baseline_s=baseline_s, ratio=mamba_s / baseline_s, times=times)
    if profile_ops:
        row["profile"] = {label: top_ops(step, profile_ops) for label, step in steps.items()}
    return row


def print_update_times(models: Dict[str, torch.nn.Module], inputs: Dict[str, dict],
                       updates: int = 6) -> None:
    """Seconds per training update (forward, backward, Adam step at lr 1e-3) of ESPnet
    models whose ``forward(**inputs[name])`` returns the loss first, alternated in one
    process; prints the median after the first (warm-up) update of each."""
    optims = {name: torch.optim.Adam(m.parameters(), 1e-3) for name, m in models.items()}
    times: Dict[str, List[float]] = {name: [] for name in models}
    for _ in range(updates):
        for name, model in models.items():
            start = time.perf_counter()
            loss = model(**inputs[name])[0]
            optims[name].zero_grad()
            loss.backward()
            optims[name].step()
            times[name].append(time.perf_counter() - start)
    for name, t in times.items():
        print(f"{name}: {statistics.median(t[1:]):.3f} s per update "
              f"(after warm-up: {', '.join(f'{x:.3f}' for x in t[1:])})")

