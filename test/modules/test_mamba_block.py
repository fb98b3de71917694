"""Mamba blocks against an independent float64 implementation; streaming, stepping,
padding invariance, and mamba-ssm's state_dict layout."""
import pytest
import torch
import torch.nn.functional as F

from espnet_mamba.modules import BiMambaInner, BiMambaOuter, Mamba
from reference import scan_reference

# mamba_ssm.modules.mamba_simple.Mamba(d_model=32) with defaults (d_state 16, d_conv 4,
# expand 2, dt_rank ceil(32/16)=2, bias False, conv_bias True).
MAMBA_SSM_KEYS = {
    "in_proj.weight": (128, 32),
    "conv1d.weight": (64, 1, 4),
    "conv1d.bias": (64,),
    "x_proj.weight": (2 + 32, 64),
    "dt_proj.weight": (64, 2),
    "dt_proj.bias": (64,),
    "A_log": (64, 16),
    "D": (64,),
    "out_proj.weight": (32, 64),
}
# Vim's bimamba "v2" (ConMamba / Mamba-TasNet checkpoints) adds the backward branch.
VIM_V2_EXTRA_KEYS = {
    "conv1d_b.weight": (64, 1, 4),
    "conv1d_b.bias": (64,),
    "x_proj_b.weight": (34, 64),
    "dt_proj_b.weight": (64, 2),
    "dt_proj_b.bias": (64,),
    "A_b_log": (64, 16),
    "D_b": (64,),
}


def mamba_reference(block: Mamba, x: torch.Tensor, suffix: str = "", params=None):
    """The mamba_simple slow path written out in float64, with the reference scan.

    ``params`` defaults to the block's parameters as float64 copies; pass float64 leaf
    tensors to differentiate. Returns the SSM branch output before out_proj:
    (batch, d_inner, L)."""
    p = params or {k: v.double() for k, v in block.state_dict().items()}
    xs, z = (x.double() @ p["in_proj.weight"].t()).transpose(1, 2).chunk(2, dim=1)
    w = p[f"conv1d{suffix}.weight"]
    xs = F.silu(F.conv1d(xs, w, p[f"conv1d{suffix}.bias"], padding=w.shape[-1] - 1,
                         groups=xs.shape[1])[..., : x.shape[1]])
    dt, B, C = (xs.transpose(1, 2) @ p[f"x_proj{suffix}.weight"].t()).split(
        [block.dt_rank, block.d_state, block.d_state], dim=-1)
    dt = (dt @ p[f"dt_proj{suffix}.weight"].t()).transpose(1, 2)
    y, _ = scan_reference(xs, dt, -torch.exp(p[f"A{suffix}_log"]), B.transpose(1, 2),
                          C.transpose(1, 2), p[f"D{suffix}"], z, p[f"dt_proj{suffix}.bias"],
                          delta_softplus=True)
    return y


def test_state_dict_matches_mamba_ssm_layout():
    sd = Mamba(32).state_dict()
    assert {k: tuple(v.shape) for k, v in sd.items()} == MAMBA_SSM_KEYS
    sd_v2 = BiMambaInner(32).state_dict()
    assert {k: tuple(v.shape) for k, v in sd_v2.items()} == {**MAMBA_SSM_KEYS, **VIM_V2_EXTRA_KEYS}


def test_init_follows_mamba_ssm():
    block = Mamba(32, dt_min=0.001, dt_max=0.1)
    torch.testing.assert_close(block.A_log.exp()[0], torch.arange(1, 17, dtype=torch.float32))
    dt = F.softplus(block.dt_proj.bias)
    assert dt.min() >= 0.001 * 0.999 and dt.max() <= 0.1 * 1.001
    assert block.A_log._no_weight_decay and block.D._no_weight_decay
    assert (block.D == 1).all()


def test_state_dict_round_trip_between_blocks():
    a, b = Mamba(32), Mamba(32)
    b.load_state_dict(a.state_dict())
    x = torch.randn(2, 9, 32)
    torch.testing.assert_close(a(x), b(x))


@pytest.mark.parametrize("L", [1, 13, 150])
def test_forward_matches_float64_reference(L):
    block = Mamba(32).double()
    x = torch.randn(2, L, 32, dtype=torch.float64)
    y = mamba_reference(block, x)
    ref = y.transpose(1, 2) @ block.out_proj.weight.t()
    torch.testing.assert_close(block(x), ref, rtol=1e-9, atol=1e-9)


def test_inner_bidirectional_matches_reference():
    block = BiMambaInner(32).double()
    x = torch.randn(2, 21, 32, dtype=torch.float64)
    y_f = mamba_reference(block, x)
    y_b = mamba_reference(block, x.flip(1), "_b")
    ref = ((y_f + y_b.flip(-1)) / 2).transpose(1, 2) @ block.out_proj.weight.t()
    torch.testing.assert_close(block(x), ref, rtol=1e-9, atol=1e-9)


def test_gradients_match_float64_reference():
    block = Mamba(16, d_state=4)
    x = torch.randn(2, 40, 16)
    block(x).square().sum().backward()
    ours = {k: p.grad.clone() for k, p in block.named_parameters()}
    params = {k: v.detach().double().requires_grad_(True) for k, v in block.state_dict().items()}
    y = mamba_reference(block, x, params=params).transpose(1, 2) @ params["out_proj.weight"].t()
    y.square().sum().backward()
    for k, p in params.items():
        torch.testing.assert_close(ours[k].double(), p.grad, rtol=2e-3, atol=2e-4, msg=k)


def test_chunked_streaming_equals_offline():
    block = Mamba(32).eval()
    x = torch.randn(2, 50, 32)
    offline = block(x)
    state, outs = None, []
    for piece in torch.split(x, [7, 1, 13, 2, 27], dim=1):
        y, state = block.forward_chunk(piece, state)
        outs.append(y)
    torch.testing.assert_close(torch.cat(outs, 1), offline, rtol=1e-5, atol=1e-5)
    assert state.conv.shape == (2, 64, 3) and state.ssm.shape == (2, 64, 16)


def test_step_equals_offline_and_state_is_fixed_size():
    block = Mamba(32).eval()
    x = torch.randn(3, 20, 32)
    offline = block(x)
    state = block.allocate_inference_cache(3)
    sizes = {(tuple(state.conv.shape), tuple(state.ssm.shape))}
    outs = []
    for t in range(20):
        y, state = block.step(x[:, t], state)
        outs.append(y)
        sizes.add((tuple(state.conv.shape), tuple(state.ssm.shape)))
    torch.testing.assert_close(torch.stack(outs, 1), offline, rtol=1e-5, atol=1e-5)
    assert len(sizes) == 1


@pytest.mark.parametrize("make", [
    lambda: BiMambaInner(32),
    lambda: BiMambaOuter(32, merge="add"),
    lambda: BiMambaOuter(32, merge="concat"),
    lambda: Mamba(32),
])
def test_padded_batch_equals_each_utterance_alone(make):
    block = make().eval()
    lengths = torch.tensor([40, 17, 1, 33])
    x = torch.randn(4, 40, 32)
    x[1, 17:] = 100.0  # garbage in the padding must not matter
    batch = block(x, lengths)
    for b, n in enumerate(lengths.tolist()):
        alone = block(x[b: b + 1, :n], lengths[b: b + 1])
        torch.testing.assert_close(batch[b: b + 1, :n], alone, rtol=1e-5, atol=1e-5)
        assert (batch[b, n:] == 0).all()


def test_bad_options_are_named():
    with pytest.raises(ValueError, match="dt_init"):
        Mamba(32, dt_init="zeros")
    with pytest.raises(ValueError, match="merge"):
        BiMambaOuter(32, merge="mul")


def test_padded_batch_gradients_equal_each_utterance_alone():
    """The backward branch runs reversed inside the kernels (no reversed copies): the
    input's and the parameters' gradients of a padded batch are those of its utterances
    run alone (float64), whatever the padding holds."""
    block = BiMambaInner(16, d_state=4).double()
    lengths = torch.tensor([30, 12, 1])
    x = torch.randn(3, 30, 16, dtype=torch.float64)
    x[1, 12:] = 100.0
    weight = torch.randn(3, 30, 16, dtype=torch.float64)
    xb = x.clone().requires_grad_(True)
    (block(xb, lengths) * weight).sum().backward()
    batch_param_grads = {k: p.grad.clone() for k, p in block.named_parameters()}
    summed = {k: torch.zeros_like(p) for k, p in block.named_parameters()}
    for b, n in enumerate(lengths.tolist()):
        block.zero_grad()
        xa = x[b: b + 1, :n].clone().requires_grad_(True)
        (block(xa, lengths[b: b + 1]) * weight[b: b + 1, :n]).sum().backward()
        torch.testing.assert_close(xb.grad[b: b + 1, :n], xa.grad, rtol=1e-10, atol=1e-10)
        assert (xb.grad[b, n:] == 0).all()
        for k, p in block.named_parameters():
            summed[k] += p.grad
    for k, g in batch_param_grads.items():  # A_log and D pass through float32 (mamba-ssm)
        tol = 1e-6 if k.startswith(("A", "D")) else 1e-10
        torch.testing.assert_close(g, summed[k], rtol=tol, atol=tol, msg=k)
