"""The parallel CPU dropout against an independent reference of its mask, its rate and
scale, its backward, its seeding, and its use inside the components."""
import numpy as np
import pytest
import torch

from espnet_mamba.modules.dropout import Dropout, use_fast_dropout
from espnet_mamba.ops.cpu_threads import single_threaded
from espnet_mamba.ops.dropout_cpu import apply_mask, dropout


def lowbias32(x: int) -> int:
    """C. Wellons' lowbias32 on Python ints (the reference for the kernel's mixer)."""
    x ^= x >> 16
    x = (x * 0x7FEB352D) % 2**32
    x ^= x >> 15
    x = (x * 0x846CA68B) % 2**32
    return x ^ (x >> 16)


def reference_keep(n: int, p: float, seed_a: int, seed_b: int) -> np.ndarray:
    threshold = int(p * 2**32)
    return np.array([lowbias32(lowbias32((i + seed_a) % 2**32) ^ seed_b) >= threshold
                     for i in range(n)])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_mask_and_scale_match_the_reference(dtype):
    x = torch.randn(3, 3001, dtype=dtype)  # 9003 elements: three parallel blocks
    seeds = torch.tensor([2**32 - 5, 123456789])  # the counter wraps past 2**32
    y = apply_mask(x, 0.3, seeds)
    keep = torch.from_numpy(reference_keep(x.numel(), 0.3, 2**32 - 5, 123456789))
    assert torch.equal(y.reshape(-1) != 0, keep)
    torch.testing.assert_close(y.reshape(-1)[keep], x.reshape(-1)[keep] / 0.7,
                               rtol=1e-6 if dtype == torch.float32 else 1e-12, atol=0)


def test_serial_kernel_gives_the_same_mask():
    x = torch.randn(50, 1000)
    seeds = torch.tensor([7, 9])
    parallel = apply_mask(x, 0.25, seeds)
    with single_threaded():
        serial = apply_mask(x, 0.25, seeds)
    assert torch.equal(parallel, serial)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_rate_and_independence(p):
    x = torch.ones(1_000_000)
    a = dropout(x, p, True) != 0
    b = dropout(x, p, True) != 0
    sigma = (p * (1 - p) / x.numel()) ** 0.5
    assert abs(a.float().mean().item() - (1 - p)) < 5 * sigma
    # two calls draw independent masks: P(both keep) = (1 - p)^2
    both = (a & b).float().mean().item()
    assert abs(both - (1 - p) ** 2) < 5 * ((1 - p) ** 2 * (1 - (1 - p) ** 2) / x.numel()) ** 0.5
    # neighbours are independent too
    pairs = (a[:-1] & a[1:]).float().mean().item()
    assert abs(pairs - (1 - p) ** 2) < 0.01


def test_backward_applies_the_forward_mask():
    x = torch.randn(4, 77, 33, requires_grad=True)
    y = dropout(x, 0.2, True)
    g = torch.randn_like(y)
    y.backward(g)
    kept = y != 0
    assert torch.equal(x.grad != 0, kept & (g != 0))
    torch.testing.assert_close(x.grad[kept], g[kept] / 0.8)


def test_non_contiguous_input_and_seeding():
    x = torch.randn(64, 40).t()  # not contiguous
    torch.manual_seed(3)
    a = dropout(x, 0.5, True)
    torch.manual_seed(3)
    b = dropout(x, 0.5, True)
    assert torch.equal(a, b)
    assert not torch.equal(a, dropout(x, 0.5, True))
    kept = a != 0
    torch.testing.assert_close(a[kept], x[kept] * 2)


def test_identity_when_not_training_or_zero_rate():
    x = torch.randn(5, 6)
    assert dropout(x, 0.5, False) is x
    assert dropout(x, 0.0, True) is x
    module = Dropout(0.5).eval()
    assert module(x) is x


def test_components_use_it_everywhere():
    from espnet_mamba.asr.encoder.conmamba_encoder import ConMambaEncoder

    encoder = ConMambaEncoder(20, output_size=16, linear_units=32, num_blocks=2)
    kinds = [type(m) for m in encoder.modules() if isinstance(m, torch.nn.Dropout)]
    # per layer ESPnet's two feed-forward dropouts and the layer's own; the input layer's
    assert kinds == [Dropout] * (2 * 3 + 1)


def test_use_fast_dropout_keeps_rates_and_structure():
    model = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.Dropout(0.3),
                                torch.nn.Sequential(torch.nn.Dropout(0.7)))
    assert use_fast_dropout(model) is model
    assert type(model[1]) is Dropout and model[1].p == 0.3
    assert type(model[2][0]) is Dropout and model[2][0].p == 0.7
