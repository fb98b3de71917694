import pytest
import torch

from espnet_mamba.ops import scan_torch, selective_scan
from espnet_mamba.ops import cuda_kernels

from reference import scan_reference


def make_inputs(nb=2, dim=6, N=4, L=37, groups=None, dtype=torch.float32):
    shape_bc = (nb, N, L) if groups is None else (nb, groups, N, L)
    return dict(
        u=torch.randn(nb, dim, L, dtype=dtype),
        delta=torch.randn(nb, dim, L, dtype=dtype) * 0.5,
        A=-torch.rand(dim, N, dtype=dtype) * 2 - 0.1,
        B=torch.randn(shape_bc, dtype=dtype),
        C=torch.randn(shape_bc, dtype=dtype),
        D=torch.randn(dim, dtype=dtype),
        z=torch.randn(nb, dim, L, dtype=dtype),
        delta_bias=torch.randn(dim, dtype=dtype) * 0.1,
    )


def grads(fn, inputs, keys, h0=None):
    leaves = {k: v.detach().clone().requires_grad_(True) for k, v in inputs.items()}
    h0 = None if h0 is None else h0.detach().clone().requires_grad_(True)
    y, last = fn(**leaves, delta_softplus=True, initial_state=h0)
    gy = torch.linspace(-1, 1, y.numel(), dtype=y.dtype).view_as(y)
    gl = torch.linspace(1, -1, last.numel(), dtype=last.dtype).view_as(last)
    ((y * gy.to(y.dtype)).sum() + (last * gl.to(last.dtype)).sum()).backward()
    out = {k: leaves[k].grad for k in keys}
    if h0 is not None:
        out["initial_state"] = h0.grad
    return y, last, out


def ours(**kw):
    return selective_scan(**kw, return_last_state=True)


KEYS = ["u", "delta", "A", "B", "C", "D", "z", "delta_bias"]


@pytest.mark.parametrize("L", [1, 37, 130])
@pytest.mark.parametrize("groups", [None, 2])
@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-9), (torch.float32, 2e-4)])
@pytest.mark.parametrize("N", [4, 16])  # 16: the kernels compiled for that state size
def test_matches_reference_outputs_and_gradients(L, groups, dtype, tol, N):
    inputs = make_inputs(L=L, groups=groups, dtype=dtype, N=N)
    h0 = torch.randn(2, 6, N, dtype=dtype)
    y, last, g = grads(ours, inputs, KEYS, h0)
    y_ref, last_ref, g_ref = grads(scan_reference, inputs, KEYS, h0)
    assert y.dtype == dtype and y.shape == (2, 6, L) and last.shape == (2, 6, N)
    torch.testing.assert_close(y.double(), y_ref, rtol=tol, atol=tol)
    torch.testing.assert_close(last.double(), last_ref, rtol=tol, atol=tol)
    for k in KEYS + ["initial_state"]:
        assert g[k].shape == g_ref[k].shape, k
        torch.testing.assert_close(g[k].double(), g_ref[k].double(), rtol=tol * 10,
                                   atol=tol * 10, msg=k)


@pytest.mark.parametrize("given", [("D",), ("z",), ("delta_bias",), ("D", "z")])
@pytest.mark.parametrize("softplus", [False, True])
def test_each_option_alone_matches_reference(given, softplus):
    """Every subset of bias, softplus, D and the gate matches, incl. large steps (past
    softplus' threshold of 20)."""
    inp = make_inputs(L=70, dtype=torch.float64)
    delta = inp["delta"].abs() * 0.2
    delta[:, :, ::7] += 21.0 if softplus else 0.0  # steps past softplus' threshold
    leaves = {k: inp[k].clone().requires_grad_(True) for k in ("u", "A", "B", "C") + given}
    leaves["delta"] = delta.requires_grad_(True)
    results = []
    for fn in (selective_scan, scan_reference):
        for t in leaves.values():
            t.grad = None
        y = fn(**leaves, delta_softplus=softplus)
        y = y[0] if isinstance(y, tuple) else y
        (y * torch.linspace(-1, 1, y.numel(), dtype=y.dtype).view_as(y)).sum().backward()
        results.append([y.detach()] + [t.grad.clone() for t in leaves.values()])
    for name, a, b in zip(["y"] + list(leaves), *results):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-9, msg=name)


def test_plain_scan_without_options():
    inp = make_inputs(L=65)
    y = selective_scan(inp["u"], inp["delta"].abs(), inp["A"], inp["B"], inp["C"])
    y_ref, _ = scan_reference(inp["u"], inp["delta"].abs(), inp["A"], inp["B"], inp["C"])
    torch.testing.assert_close(y.double(), y_ref, rtol=1e-4, atol=1e-4)


def test_torch_scan_matches_reference():
    inp = make_inputs(L=20, groups=3)
    delta = torch.nn.functional.softplus(inp["delta"])
    h0 = torch.randn(2, 6, 4)
    y, last = scan_torch(inp["u"], delta, inp["A"], inp["B"], inp["C"], h0)
    y_ref, last_ref = scan_reference(inp["u"], delta, inp["A"], inp["B"], inp["C"],
                                     initial_state=h0)
    torch.testing.assert_close(y.double(), y_ref, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(last.double(), last_ref, rtol=1e-4, atol=1e-4)


def test_split_scan_equals_whole():
    inp = make_inputs(L=150)
    kw = dict(D=inp["D"], delta_bias=inp["delta_bias"], delta_softplus=True,
              return_last_state=True)
    whole, last = selective_scan(inp["u"], inp["delta"], inp["A"], inp["B"], inp["C"], **kw)
    cut = 70
    part = lambda sl, h0: selective_scan(  # noqa: E731
        inp["u"][..., sl], inp["delta"][..., sl], inp["A"], inp["B"][..., sl],
        inp["C"][..., sl], initial_state=h0, **kw)
    y1, h1 = part(slice(0, cut), None)
    y2, h2 = part(slice(cut, None), h1)
    torch.testing.assert_close(torch.cat([y1, y2], -1), whole, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(h2, last, rtol=1e-5, atol=1e-5)


def test_autocast_keeps_state_math_in_float32():
    inp = make_inputs(L=30)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        u = inp["u"].bfloat16()
        y, last = selective_scan(u, inp["delta"].bfloat16(), inp["A"], inp["B"].bfloat16(),
                                 inp["C"].bfloat16(), return_last_state=True)
    assert y.dtype == torch.bfloat16 and last.dtype == torch.float32


@pytest.mark.parametrize(
    "change,message",
    [
        (dict(u=torch.randn(2, 6)), "u and delta"),
        (dict(A=torch.randn(5, 4)), "A must be"),
        (dict(B=torch.randn(2, 3, 37)), "B must be"),
        (dict(C=torch.randn(2, 4, 4, 37)), "C must be"),
    ],
)
def test_bad_shapes_are_named(change, message):
    inp = make_inputs()
    inp.update(change)
    with pytest.raises(ValueError, match=message):
        selective_scan(inp["u"], inp["delta"], inp["A"], inp["B"], inp["C"])


def test_cuda_dispatch_uses_official_kernel(monkeypatch):
    """A CUDA tensor goes to mamba-ssm's kernel with its positional signature."""
    calls = []

    def fake_kernel(*args):
        calls.append(args)
        return "kernel-output"

    class FakeCuda(torch.Tensor):
        @property
        def is_cuda(self):
            return True

    inp = make_inputs()
    monkeypatch.setattr(cuda_kernels, "selective_scan_fn", fake_kernel)
    u = inp["u"].as_subclass(FakeCuda)
    out = selective_scan(u, inp["delta"], inp["A"], inp["B"], inp["C"], D=inp["D"],
                         delta_softplus=True)
    assert out == "kernel-output"
    (args,) = calls
    assert args[0] is u and args[5] is inp["D"] and args[8] is True and args[9] is False


@pytest.mark.parametrize("dtype,tol", [(torch.float32, 2e-7), (torch.float64, 1e-15)])
def test_kernel_step_sizes_match_torch_softplus(dtype, tol):
    """The kernel's own softplus and slope (float32: its polynomial exp and log1p) against
    torch's softplus and sigmoid, from -90 to past the threshold of 20.  Below -87 the
    float32 exp returns exp(-87) (1.6e-38) rather than a subnormal: the absolute bound."""
    import numpy as np

    from espnet_mamba.ops.scan_cpu import _step_sizes

    raw = torch.cat([torch.linspace(-90, 30, 20001, dtype=dtype),
                     torch.tensor([-1e-30, 0.0, 1e-30, 20.0, 20.000002], dtype=dtype)])
    value, slope = np.empty(raw.numel(), raw.numpy().dtype), np.empty(raw.numel(),
                                                                      raw.numpy().dtype)
    _step_sizes(raw.numpy(), raw.numpy().dtype.type(0.25), True, value, slope)
    shifted = (raw.double() + 0.25)
    expected = torch.nn.functional.softplus(shifted)
    atol = 2e-38 if dtype == torch.float32 else 0.0
    torch.testing.assert_close(torch.from_numpy(value).double(), expected, rtol=4 * tol,
                               atol=atol)
    expected_slope = torch.where(shifted > 20, 1.0, torch.sigmoid(shifted))
    torch.testing.assert_close(torch.from_numpy(slope).double(), expected_slope,
                               rtol=4 * tol, atol=atol)
    _step_sizes(raw.numpy(), raw.numpy().dtype.type(0.25), False, value, slope)
    assert (torch.from_numpy(value) == raw + 0.25).all() and (slope == 1).all()


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-9), (torch.float32, 2e-4)])
@pytest.mark.parametrize("L", [5, 130])  # 130: past a checkpoint chunk of 64 steps
def test_reverse_equals_scan_of_reversed_inputs(dtype, tol, L):
    """``reverse=True`` with ``lengths`` is the reference scan of each utterance reversed
    within its length (padding after it, in order), its output put back in frame order:
    outputs, last states and every gradient; lengths 0 and L included."""
    from espnet_mamba.ops.lengths import reverse_padded

    inputs = make_inputs(nb=4, L=L, groups=2, dtype=dtype)
    lengths = torch.tensor([L, L - 3, 1, 0])
    h0 = torch.randn(4, 6, 4, dtype=dtype)
    flip = lambda t: reverse_padded(t, lengths, -1)  # noqa: E731

    def ours_reversed(**kw):
        return selective_scan(**kw, return_last_state=True, reverse=True, lengths=lengths)

    def reference_of_reversed(u, delta, B, C, z, **kw):
        y, last = scan_reference(flip(u), flip(delta), B=flip(B), C=flip(C), z=flip(z), **kw)
        return flip(y), last

    y, last, g = grads(ours_reversed, inputs, KEYS, h0)
    y_ref, last_ref, g_ref = grads(reference_of_reversed, inputs, KEYS, h0)
    torch.testing.assert_close(y.double(), y_ref, rtol=tol, atol=tol)
    torch.testing.assert_close(last.double(), last_ref, rtol=tol, atol=tol)
    for k in KEYS + ["initial_state"]:
        torch.testing.assert_close(g[k].double(), g_ref[k].double(), rtol=tol * 10,
                                   atol=tol * 10, msg=k)


def test_reverse_without_lengths_reverses_the_whole_axis():
    inp = make_inputs(L=40, dtype=torch.float64)
    kw = dict(D=inp["D"], delta_bias=inp["delta_bias"], delta_softplus=True)
    y = selective_scan(inp["u"], inp["delta"], inp["A"], inp["B"], inp["C"], z=inp["z"],
                       reverse=True, **kw)
    y_ref, _ = scan_reference(inp["u"].flip(-1), inp["delta"].flip(-1), inp["A"],
                              inp["B"].flip(-1), inp["C"].flip(-1), z=inp["z"].flip(-1), **kw)
    torch.testing.assert_close(y, y_ref.flip(-1), rtol=1e-9, atol=1e-9)


def test_reverse_off_the_cpu_kernel_reverses_around_the_scan(monkeypatch):
    """Where the fused kernel does not run (here: a CUDA tensor without mamba-ssm), a
    reverse scan gives the same as the kernel's."""
    class FakeCuda(torch.Tensor):
        @property
        def is_cuda(self):
            return True

    monkeypatch.setattr(cuda_kernels, "selective_scan_fn", None)
    inp = make_inputs(nb=3, L=20, dtype=torch.float64)
    lengths = torch.tensor([20, 11, 4])
    kw = dict(D=inp["D"], z=inp["z"], delta_bias=inp["delta_bias"], delta_softplus=True,
              reverse=True, lengths=lengths, return_last_state=True)
    y, last = selective_scan(inp["u"].as_subclass(FakeCuda), inp["delta"], inp["A"],
                             inp["B"], inp["C"], **kw)
    y_cpu, last_cpu = selective_scan(inp["u"], inp["delta"], inp["A"], inp["B"], inp["C"],
                                     **kw)
    torch.testing.assert_close(y.as_subclass(torch.Tensor), y_cpu, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(last.as_subclass(torch.Tensor), last_cpu, rtol=1e-9, atol=1e-9)


def test_bad_lengths_are_named():
    inp = make_inputs(L=10)
    with pytest.raises(ValueError, match="lengths must be in 0..10"):
        selective_scan(inp["u"], inp["delta"], inp["A"], inp["B"], inp["C"], reverse=True,
                       lengths=torch.tensor([10, 11]))
