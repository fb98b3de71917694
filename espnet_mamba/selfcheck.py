"""Self-check: which kernels this machine uses, and whether they agree.

    python -m espnet_mamba.selfcheck [--cuda-only]

Prints the versions, the kernel each op runs on each device, the fixes applied to
ESPnet, then compares the paths: on every machine the fused CPU scan against the plain
PyTorch recurrence and the CPU convolution kernel against ``F.conv1d`` (float64); with a CUDA device, every CUDA code path against the CPU
path (scan, causal convolution, blocks, a bidirectional encoder on a padded batch, a
decoder step, a training step under AMP with bfloat16 and float16).  Exits 1 if any
comparison is off.  ``pytest -m cuda`` runs the same CUDA comparisons as tests.
"""
import argparse
import importlib
import platform
import sys
from dataclasses import dataclass
from typing import Callable, Dict, List

import torch


@dataclass
class Check:
    """One comparison: the largest relative error found against its tolerance."""

    name: str
    error: float
    tol: float

    @property
    def ok(self) -> bool:
        return self.error <= self.tol


def rel_error(got: torch.Tensor, want: torch.Tensor) -> float:
    """max |got - want| / (max |want| + 1e-6), in float64 on the CPU."""
    got, want = got.detach().double().cpu(), want.detach().double().cpu()
    if not torch.isfinite(got).all():
        return float("inf")
    return float((got - want).abs().max() / (want.abs().max() + 1e-6))


def _worst(pairs) -> float:
    return max(rel_error(g, w) for g, w in pairs)


# ---------------------------------------------------------------- what runs where
def kernels() -> Dict[str, str]:
    """Op (device) -> the implementation this machine uses."""
    import numba

    from espnet_mamba.ops import cpu_threads, cuda_kernels

    mode = "serial (forked process)" if cpu_threads.in_forked_child() else "parallel"
    try:
        layer = numba.threading_layer()
    except ValueError:  # not launched yet
        layer = "not started yet"
    out = {"selective_scan (cpu)": f"fused numba kernel, {mode}; numba threading layer: "
                                   f"{layer}, {numba.get_num_threads()} threads",
           "causal_conv1d (cpu)": f"numba kernel, {mode} (with a carried state or while "
                                  "exporting: torch.nn.functional.conv1d)"}
    if not torch.cuda.is_available():
        out["cuda"] = "no CUDA device"
        return out
    out["selective_scan (cuda)"] = (
        "mamba-ssm selective_scan_fn (a call with initial_state: PyTorch recurrence)"
        if cuda_kernels.selective_scan_fn is not None
        else "PyTorch recurrence (mamba-ssm not importable)")
    out["causal_conv1d (cuda)"] = (
        "causal-conv1d causal_conv1d_fn (with states: conv1d)"
        if cuda_kernels.causal_conv1d_fn is not None
        else "torch.nn.functional.conv1d (causal-conv1d not importable)")
    return out


# ---------------------------------------------------------------- comparisons
def _scan_inputs(device, dtype=torch.float32, batch=2, dim=16, state=8, length=150):
    g = torch.Generator().manual_seed(0)

    def rand(*shape, scale=1.0):
        return (torch.randn(*shape, generator=g, dtype=torch.float64) * scale).to(
            device, dtype).requires_grad_(True)

    return dict(u=rand(batch, dim, length), delta=rand(batch, dim, length, scale=0.5),
                A=(-torch.rand(dim, state, generator=g, dtype=torch.float64) - 0.1).to(
                    device, dtype).requires_grad_(True),
                B=rand(batch, state, length), C=rand(batch, state, length), D=rand(dim),
                z=rand(batch, dim, length), delta_bias=rand(dim, scale=0.1))


def _scan_and_grads(fn, inputs) -> List[torch.Tensor]:
    y = fn(inputs)
    y.backward(torch.linspace(-1, 1, y.numel(), device=y.device).view_as(y).to(y.dtype))
    return [y] + [inputs[k].grad for k in sorted(inputs)]


def check_cpu_scan() -> Check:
    """Fused CPU kernel vs the plain PyTorch recurrence, float64, output and gradients."""
    from espnet_mamba.ops import scan_torch, selective_scan

    def fused(x):
        return selective_scan(**x, delta_softplus=True)

    def reference(x):
        delta = torch.nn.functional.softplus(x["delta"] + x["delta_bias"][:, None])
        y, _ = scan_torch(x["u"], delta, x["A"], x["B"][:, None], x["C"][:, None], None)
        return (y + x["u"] * x["D"][:, None]) * torch.nn.functional.silu(x["z"])

    got = _scan_and_grads(fused, _scan_inputs("cpu", torch.float64))
    want = _scan_and_grads(reference, _scan_inputs("cpu", torch.float64))
    return Check("scan: fused CPU kernel == PyTorch recurrence (float64)",
                 _worst(zip(got, want)), 1e-9)


def check_cpu_causal_conv() -> Check:
    """The CPU convolution kernel vs ``F.conv1d`` + SiLU, float64, forward and reversed
    within lengths, output and gradients."""
    from espnet_mamba.ops import causal_conv1d
    from espnet_mamba.ops.lengths import reverse_padded

    g = torch.Generator().manual_seed(1)
    x, w, b = (torch.randn(*shape, generator=g, dtype=torch.float64)
               for shape in ((3, 16, 70), (16, 4), (16,)))
    lengths = torch.tensor([70, 41, 5])

    def run(kernel: bool, reverse: bool) -> List[torch.Tensor]:
        leaves = [t.clone().requires_grad_(True) for t in (x, w, b)]
        if kernel:
            y = causal_conv1d(*leaves, "silu", reverse=reverse, lengths=lengths)
        else:
            flip = (lambda t: reverse_padded(t, lengths, -1)) if reverse else (lambda t: t)
            y = flip(torch.nn.functional.silu(torch.nn.functional.conv1d(
                flip(leaves[0]), leaves[1][:, None], leaves[2], padding=3,
                groups=16)[..., :70]))
        y.backward(torch.linspace(-1, 1, y.numel(), dtype=y.dtype).view_as(y))
        return [y] + [t.grad for t in leaves]

    error = max(_worst(zip(run(True, r), run(False, r))) for r in (False, True))
    return Check("causal_conv1d: CPU kernel == F.conv1d (float64, both directions)",
                 error, 1e-12)


def _on(device: str, make: Callable[[], torch.nn.Module]) -> torch.nn.Module:
    torch.manual_seed(0)
    return make().to(device).eval()


def check_cuda_scan() -> Check:
    from espnet_mamba.ops import selective_scan

    def run(x):
        return selective_scan(**x, delta_softplus=True)

    got = _scan_and_grads(run, _scan_inputs("cuda"))
    want = _scan_and_grads(run, _scan_inputs("cpu"))
    return Check("scan: CUDA == CPU (float32, output and gradients)",
                 _worst(zip(got, want)), 1e-4)


def check_cuda_causal_conv() -> Check:
    from espnet_mamba.ops import causal_conv1d

    def run(device):
        g = torch.Generator().manual_seed(1)
        x = torch.randn(2, 16, 70, generator=g).to(device).requires_grad_(True)
        w = torch.randn(16, 4, generator=g).to(device).requires_grad_(True)
        b = torch.randn(16, generator=g).to(device).requires_grad_(True)
        y = causal_conv1d(x, w, b, activation="silu")
        y.sum().backward()
        return [y, x.grad, w.grad, b.grad]

    return Check("causal_conv1d: CUDA == CPU (output and gradients)",
                 _worst(zip(run("cuda"), run("cpu"))), 1e-5)


def check_cuda_blocks() -> Check:
    from espnet_mamba.modules import BiMambaInner, BiMambaOuter, Mamba

    errors = []
    for cls in (Mamba, BiMambaInner, BiMambaOuter):
        x = torch.randn(3, 40, 32, generator=torch.Generator().manual_seed(2))
        lengths = torch.tensor([40, 23, 7])
        outs = [_on(d, lambda: cls(32, d_state=8))(x.to(d), lengths.to(d))
                for d in ("cuda", "cpu")]
        errors.append(rel_error(*outs))
    return Check("blocks (Mamba, BiMambaInner, BiMambaOuter, padded): CUDA == CPU",
                 max(errors), 1e-4)


def _encoder():
    from espnet_mamba.asr.encoder.conmamba_encoder import ConMambaEncoder

    return ConMambaEncoder(20, output_size=32, linear_units=32, num_blocks=2, d_state=8,
                           cnn_module_kernel=7, dropout_rate=0.0)


def check_cuda_encoder() -> Check:
    xs = torch.randn(3, 80, 20, generator=torch.Generator().manual_seed(3))
    ilens = torch.tensor([80, 51, 20])
    outs = [_on(d, _encoder)(xs.to(d), ilens.to(d))[0] for d in ("cuda", "cpu")]
    return Check("ConMamba encoder (bidirectional, padded batch): CUDA == CPU",
                 rel_error(*outs), 1e-4)


def check_cuda_decoder_step() -> Check:
    from espnet_mamba.asr.decoder.mamba_decoder import MambaDecoder

    memory = torch.randn(2, 12, 32, generator=torch.Generator().manual_seed(4))
    ys = torch.tensor([[9, 3], [9, 5]])
    results = []
    for d in ("cuda", "cpu"):
        dec = _on(d, lambda: MambaDecoder(10, 32, linear_units=32, num_blocks=2, d_state=8))
        logp, states = dec.batch_score(ys.to(d), [None, None], memory.to(d))
        logp2, _ = dec.batch_score(ys.to(d), states, memory.to(d))  # a second step
        results.append([logp, logp2] + [t for s in states for layer in s for t in layer])
    return Check("Mamba decoder beam-search steps (scores, states): CUDA == CPU",
                 _worst(zip(*results)), 1e-4)


def _train_step(device: str, dtype):
    """Loss and gradients of one CTC training step of a tiny ConMamba, under autocast
    with ``dtype`` (None: float32)."""
    torch.manual_seed(0)
    encoder = _encoder().to(device).train()
    head = torch.nn.Linear(32, 10).to(device)
    g = torch.Generator().manual_seed(5)
    xs = torch.randn(3, 80, 20, generator=g).to(device)
    ilens = torch.tensor([80, 51, 20], device=device)
    targets = torch.randint(1, 10, (3, 4), generator=g).to(device)
    with torch.autocast(device, dtype=dtype or torch.float32, enabled=dtype is not None):
        out, olens, _ = encoder(xs, ilens)
        logp = head(out).float().log_softmax(-1).transpose(0, 1)
    loss = torch.nn.functional.ctc_loss(logp, targets, olens.cpu(), torch.tensor([4, 4, 3]),
                                        zero_infinity=True)
    scale = 1024.0 if dtype == torch.float16 else 1.0  # as a GradScaler would
    (loss * scale).backward()
    grads = torch.cat([p.grad.flatten() / scale for p in encoder.parameters()
                       if p.grad is not None])
    return loss.detach(), grads


def check_cuda_amp(dtype: torch.dtype) -> Check:
    loss, grads = _train_step("cuda", dtype)
    loss_cpu, grads_cpu = _train_step("cpu", None)
    cosine = torch.nn.functional.cosine_similarity(grads.double().cpu(),
                                                   grads_cpu.double(), dim=0)
    error = max(rel_error(loss, loss_cpu), float(1 - cosine))
    name = str(dtype).replace("torch.", "")
    return Check(f"training step under AMP ({name}) on CUDA vs float32 on CPU "
                 "(loss; 1 - gradient cosine)", error, 5e-2)


CUDA_CHECKS: Dict[str, Callable[[], Check]] = {
    "scan": check_cuda_scan,
    "causal_conv1d": check_cuda_causal_conv,
    "blocks": check_cuda_blocks,
    "encoder": check_cuda_encoder,
    "decoder_step": check_cuda_decoder_step,
    "amp_bfloat16": lambda: check_cuda_amp(torch.bfloat16),
    "amp_float16": lambda: check_cuda_amp(torch.float16),
}


def run_checks(cuda_only: bool = False) -> List[Check]:
    checks = [] if cuda_only else [check_cpu_scan(), check_cpu_causal_conv()]
    if torch.cuda.is_available():
        checks += [fn() for fn in CUDA_CHECKS.values()]
    return checks


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m espnet_mamba.selfcheck",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--cuda-only", action="store_true", help="only the CUDA comparisons")
    args = parser.parse_args(argv)
    import espnet

    import espnet_mamba
    from espnet_mamba import espnet_fixes
    from espnet_mamba.compat import legacy_nets

    legacy_nets("beam_search_timesync")  # the modules espnet_fixes fixes, if not yet imported
    importlib.import_module("espnet2.train.trainer")

    print(f"espnet-mamba {espnet_mamba.__version__}, ESPnet {espnet.__version__}, torch "
          f"{torch.__version__}, Python {platform.python_version()}, {platform.machine()}")
    checks = run_checks(args.cuda_only)  # runs the kernels first: the layer is known then
    print("\nkernels:")
    for op, impl in kernels().items():
        print(f"  {op:24s} {impl}")
    print("\nfixes to ESPnet:" + ("" if espnet_fixes.STATUS else " none (turned off?)"))
    for module, status in sorted(espnet_fixes.STATUS.items()):
        print(f"  {module}: {status}")
    print("\ncomparisons:")
    for c in checks:
        print(f"  [{'ok' if c.ok else 'FAIL'}] {c.name}: error {c.error:.2e} "
              f"(tolerance {c.tol:.0e})")
    if not torch.cuda.is_available():
        print("  (no CUDA device: the CUDA comparisons did not run)")
    if not all(c.ok for c in checks):
        sys.exit(1)


if __name__ == "__main__":
    main()
