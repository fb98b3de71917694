"""Mamba2 block: mamba-ssm's parameter layout (strict loading), padding, streaming."""
import pytest
import torch

from espnet_mamba.modules.mamba2 import Mamba2, RMSNormGated

# mamba_ssm/modules/mamba2.py, written out for d_model 64, d_state 16, d_conv 4, expand 2,
# headdim 16, ngroups 2 (d_inner 128, 8 heads, conv_dim 128 + 2 * 2 * 16 = 192; in_proj
# gives [z, x, B, C, dt] = 128 + 192 + 8), bias False, conv_bias True, rmsnorm True
MAMBA_SSM_MAMBA2 = {
    "in_proj.weight": (328, 64),
    "conv1d.weight": (192, 1, 4),
    "conv1d.bias": (192,),
    "dt_bias": (8,),
    "A_log": (8,),
    "D": (8,),
    "norm.weight": (128,),
    "out_proj.weight": (64, 128),
}


def block(**kw):
    torch.manual_seed(0)
    return Mamba2(64, d_state=16, headdim=16, ngroups=2, chunk_size=8, **kw).double()


def test_a_mamba_ssm_state_dict_loads_strictly():
    model = block()
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == MAMBA_SSM_MAMBA2
    theirs = {k: torch.randn(shape, dtype=torch.float64) for k, shape in MAMBA_SSM_MAMBA2.items()}
    model.load_state_dict(theirs, strict=True)
    assert torch.equal(model.A_log, theirs["A_log"])
    # init as mamba-ssm: A in [1, 16], softplus(dt_bias) in [dt_min, dt_max], D = 1
    fresh = Mamba2(64, d_state=16, headdim=16)
    A = torch.exp(fresh.A_log)
    assert ((A >= 1) & (A <= 16)).all() and torch.equal(fresh.D, torch.ones(8))
    dt = torch.nn.functional.softplus(fresh.dt_bias)
    assert ((dt > 0.0009) & (dt < 0.1001)).all()


def assert_padding_invariant(model, x, lengths, garbage):
    """The padded batch (``garbage`` in the padding) gives each utterance its output alone,
    and zeros in the padding."""
    x = x.clone()
    x[1, lengths[1]:] = garbage
    out = model(x, lengths)
    assert torch.isfinite(out).all() and (out[1, lengths[1]:] == 0).all()
    for i, n in enumerate(lengths.tolist()):
        torch.testing.assert_close(out[i, :n], model(x[i:i + 1, :n])[0], rtol=1e-10, atol=1e-10)


def test_padded_batch_equals_each_utterance_alone_whatever_the_padding():
    assert_padding_invariant(block().eval(), torch.randn(2, 21, 64, dtype=torch.float64),
                             torch.tensor([21, 13]), float("nan"))


@pytest.mark.parametrize("rmsnorm, D_has_hdim", [(True, False), (False, True)])
def test_chunks_and_steps_equal_the_offline_output(rmsnorm, D_has_hdim):
    model = block(rmsnorm=rmsnorm, D_has_hdim=D_has_hdim).eval()
    x = torch.randn(2, 19, 64, dtype=torch.float64)
    whole = model(x)
    state, parts = None, []
    for start, stop in ((0, 5), (5, 6), (6, 19)):
        y, state = model.forward_chunk(x[:, start:stop], state)
        parts.append(y)
    torch.testing.assert_close(torch.cat(parts, 1), whole, rtol=1e-10, atol=1e-10)
    state = model.allocate_inference_cache(2)
    steps = []
    for t in range(19):
        y, state = model.step(x[:, t], state)
        steps.append(y)
    torch.testing.assert_close(torch.stack(steps, 1), whole, rtol=1e-10, atol=1e-10)
    assert state.ssm.shape == (2, 8, 16, 16) and state.conv.shape == (2, 192, 3)


def test_every_parameter_gets_a_gradient():
    model = block()
    model(torch.randn(2, 11, 64, dtype=torch.float64)).square().mean().backward()
    assert [n for n, p in model.named_parameters() if p.grad is None] == []


def test_gated_rmsnorm_by_groups():
    norm = RMSNormGated(4, eps=0.0, group_size=2).double()
    x = torch.tensor([[3.0, 4.0, 1.0, 1.0]], dtype=torch.float64)
    z = torch.full_like(x, 50.0)  # silu(50) == 50 in float64 to 1e-20
    out = norm(x, z)
    # group 1: x * 50 = (150, 200), rms 50 * sqrt(12.5); group 2: (50, 50), rms 50
    expected = torch.tensor([[3 / 12.5 ** 0.5, 4 / 12.5 ** 0.5, 1.0, 1.0]], dtype=torch.float64)
    torch.testing.assert_close(out, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kwargs, message", [
    (dict(headdim=48), "headdim=48 must divide d_inner"),
    (dict(ngroups=3), "ngroups=3 must divide the number of heads"),
    (dict(A_init_range=(0.0, 1.0)), "A_init_range"),
    (dict(d_state=0), "d_state"),
])
def test_bad_config_is_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Mamba2(64, **{"headdim": 16, **kwargs})


@pytest.mark.parametrize("bidirectional_type", ["inner", "outer"])
def test_bidirectional_mamba2_padding_and_direction(bidirectional_type):
    from espnet_mamba.modules import BiMamba2Inner, BiMambaOuter, build_mixer

    torch.manual_seed(0)
    mixer = build_mixer(64, bidirectional=True, bidirectional_type=bidirectional_type,
                        mixer="mamba2", d_state=16, headdim=16, chunk_size=8).double().eval()
    assert isinstance(mixer, BiMamba2Inner if bidirectional_type == "inner" else BiMambaOuter)
    x = torch.randn(2, 17, 64, dtype=torch.float64)
    assert_padding_invariant(mixer, x, torch.tensor([17, 9]), float("inf"))
    # the backward direction sees the future: changing the last frame changes the first
    y = x[:1, :9].clone()
    changed = y.clone()
    changed[0, -1] += 1.0
    assert not torch.allclose(mixer(y)[0, 0], mixer(changed)[0, 0])


def test_inner_variant_has_mamba_ssm_names_plus_a_backward_branch():
    from espnet_mamba.modules import BiMamba2Inner

    keys = set(BiMamba2Inner(64, d_state=16, headdim=16, ngroups=2).state_dict())
    assert keys == set(MAMBA_SSM_MAMBA2) | {"conv1d_b.weight", "conv1d_b.bias", "dt_bias_b",
                                            "A_b_log", "D_b"}
