import sys

import pytest
import torch
import torch.nn.functional as F

from espnet_mamba.ops import causal_conv1d, cuda_kernels


def reference(x, weight, bias):
    """out_t = sum_k w_k x_{t-W+1+k} + bias, written as an explicit loop in float64."""
    x, weight = x.double(), weight.double()
    W = weight.shape[1]
    out = torch.zeros_like(x)
    for t in range(x.shape[-1]):
        for k in range(W):
            s = t - W + 1 + k
            if s >= 0:
                out[..., t] += weight[:, k] * x[..., s]
    return out + (0 if bias is None else bias.double()[:, None])


@pytest.mark.parametrize("activation", [None, "silu"])
@pytest.mark.parametrize("with_bias", [True, False])
def test_matches_loop_reference(activation, with_bias):
    x, w = torch.randn(2, 5, 17), torch.randn(5, 4)
    b = torch.randn(5) if with_bias else None
    ref = reference(x, w, b)
    if activation:
        ref = F.silu(ref)
    torch.testing.assert_close(causal_conv1d(x, w, b, activation).double(), ref,
                               rtol=1e-5, atol=1e-5)


def test_chunks_with_carried_state_equal_whole():
    x, w, b = torch.randn(2, 5, 30), torch.randn(5, 4), torch.randn(5)
    whole = causal_conv1d(x, w, b, "silu")
    state, outs = None, []
    for piece in torch.split(x, [1, 2, 10, 17], dim=-1):
        y, state = causal_conv1d(piece, w, b, "silu", initial_state=state,
                                 return_final_state=True)
        outs.append(y)
        assert state.shape == (2, 5, 3)
    torch.testing.assert_close(torch.cat(outs, -1), whole)


def test_bad_activation():
    with pytest.raises(ValueError, match="activation"):
        causal_conv1d(torch.randn(1, 2, 3), torch.randn(2, 4), activation="relu")


def test_cuda_dispatch_uses_official_kernel(monkeypatch):
    calls = []

    class FakeCuda(torch.Tensor):
        @property
        def is_cuda(self):
            return True

    def fake(x, weight, bias, activation=None):
        calls.append(activation)
        return "kernel-output"

    monkeypatch.setattr(cuda_kernels, "causal_conv1d_fn", fake)
    x = torch.randn(1, 2, 3).as_subclass(FakeCuda)
    assert causal_conv1d(x, torch.randn(2, 4), None, "silu") == "kernel-output"
    assert calls == ["silu"]
    # With a carried state the project's path runs (causal-conv1d has no such input here).
    out = causal_conv1d(x, torch.randn(2, 4), None, "silu",
                        initial_state=torch.zeros(1, 2, 3))
    assert out.shape == (1, 2, 3) and calls == ["silu"]


def reference_reversed(x, weight, bias, lengths):
    """The loop reference on each sequence reversed within its length (its padding
    after it, in order), put back in frame order."""
    from espnet_mamba.ops.lengths import reverse_padded

    return reverse_padded(reference(reverse_padded(x, lengths, -1), weight, bias), lengths, -1)


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-12), (torch.float32, 1e-5)])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("activation", [None, "silu"])
@pytest.mark.parametrize("with_bias", [True, False])
def test_cpu_kernel_outputs_and_gradients_match_reference(dtype, tol, reverse, activation,
                                                          with_bias):
    """The numba kernel (forward and backward) against autograd through the float64 loop
    reference, forward or reversed within lengths (0, 1, short and full included)."""
    torch.manual_seed(0)
    lengths = torch.tensor([23, 9, 1, 0])
    x = torch.randn(4, 5, 23, dtype=dtype)
    w, b = torch.randn(5, 4, dtype=dtype), torch.randn(5, dtype=dtype) if with_bias else None
    grad = torch.randn(4, 5, 23, dtype=dtype)
    results = []
    for fn in ("ours", "reference"):
        leaves = [t.detach().clone().requires_grad_(True) for t in (x, w)]
        leaves += [b.detach().clone().requires_grad_(True)] if with_bias else [None]
        if fn == "ours":
            out = causal_conv1d(*leaves, activation, reverse=reverse, lengths=lengths)
        else:
            out = (reference_reversed(*leaves, lengths) if reverse
                   else reference(*leaves)).to(dtype)
            out = F.silu(out) if activation else out
        (out * grad).sum().backward()
        results.append([out.detach()] + [t.grad for t in leaves if t is not None])
    for name, a, r in zip(["out", "dx", "dweight", "dbias"], *results):
        assert a.dtype == dtype, name
        torch.testing.assert_close(a, r, rtol=tol, atol=tol, msg=name)


def test_reverse_cannot_carry_a_state():
    with pytest.raises(ValueError, match="reverse=True cannot carry a state"):
        causal_conv1d(torch.randn(1, 2, 5), torch.randn(2, 4), reverse=True,
                      return_final_state=True)


def test_reverse_off_the_cpu_kernel_reverses_around_the_conv(monkeypatch):
    """While a graph is exported F.conv1d runs; a reversed call there equals the kernel's."""
    module = sys.modules["espnet_mamba.ops.causal_conv1d"]  # the package attribute: the function
    x, w, b = torch.randn(3, 5, 12), torch.randn(5, 4), torch.randn(5)
    lengths = torch.tensor([12, 7, 2])
    kernel = causal_conv1d(x, w, b, "silu", reverse=True, lengths=lengths)
    monkeypatch.setattr(module, "is_exporting", lambda: True)
    exported_path = causal_conv1d(x, w, b, "silu", reverse=True, lengths=lengths)
    torch.testing.assert_close(exported_path, kernel, rtol=1e-5, atol=1e-5)
