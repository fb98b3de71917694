"""Separator ``mamba``: masks, ESPnet task integration (YAML -> model), padding
invariance through encoder/separator/decoder, causal streaming, and training."""
from pathlib import Path

import pytest
import torch
import yaml

import espnet_mamba  # noqa: F401  (registers separator "mamba")
from espnet2.tasks.enh import EnhancementTask
from espnet_mamba.enh.separator.mamba_separator import MambaSeparator

CONF = Path(__file__).resolve().parents[2] / "conf" / "enh"
TINY = dict(d_model=16, num_layers=2, d_state=4)
PIT_SI_SNR = [{"name": "si_snr", "conf": {}, "wrapper": "pit",
               "wrapper_conf": {"weight": 1.0, "independent_perm": True}}]


def parse(config: Path):
    """Command-line arguments of ``enh_train --config config``, as ESPnet parses them."""
    return EnhancementTask.get_parser().parse_args(["--config", str(config)])


def tiny_model(tmp_path: Path, **separator_conf):
    """ESPnet enhancement model (conv 16/8 encoder/decoder) from a tiny YAML."""
    conf = {
        "encoder": "conv", "encoder_conf": {"channel": 16, "kernel_size": 16, "stride": 8},
        "decoder": "conv", "decoder_conf": {"channel": 16, "kernel_size": 16, "stride": 8},
        "separator": "mamba", "separator_conf": {**TINY, **separator_conf},
        "criterions": PIT_SI_SNR,
    }
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(conf))
    return EnhancementTask.build_model(parse(path))


def test_enh_tasks_list_the_separator():
    import espnet2.tasks.enh as enh
    import espnet2.tasks.enh_s2t as enh_s2t

    assert enh.separator_choices.get_class("mamba") is MambaSeparator
    assert enh_s2t.enh_separator_choices.get_class("mamba") is MambaSeparator


@pytest.mark.parametrize("nonlinear", ["relu", "sigmoid", "tanh", "softmax"])
def test_masks_shapes_and_padding(nonlinear):
    sep = MambaSeparator(12, num_spk=3, nonlinear=nonlinear, **TINY).eval()
    x = torch.rand(2, 20, 12)
    ilens = torch.tensor([20, 13])
    masked, olens, others = sep(x, ilens)
    assert sep.num_spk == 3 and len(masked) == 3 and list(others) == [
        "mask_spk1", "mask_spk2", "mask_spk3"]
    assert torch.equal(olens, ilens)
    masks = torch.stack(list(others.values()))
    assert masks.shape == (3, 2, 20, 12)
    for out, mask in zip(masked, others.values()):
        torch.testing.assert_close(out, x * mask)
    assert not masks[:, 1, 13:].any(), "padded frames must be zero"
    real = masks[:, 0]
    if nonlinear == "softmax":
        torch.testing.assert_close(real.sum(0), torch.ones(20, 12))
    elif nonlinear == "sigmoid":
        assert real.min() > 0 and real.max() < 1
    elif nonlinear == "relu":
        assert real.min() >= 0
    else:
        assert real.min() > -1 and real.max() < 1


def test_complex_input_uses_magnitude():
    sep = MambaSeparator(8, **TINY).eval()
    spec = torch.randn(1, 10, 8, dtype=torch.complex64)
    masked, _, others = sep(spec, torch.tensor([10]))
    _, _, others_abs = sep(spec.abs(), torch.tensor([10]))
    torch.testing.assert_close(others["mask_spk1"], others_abs["mask_spk1"])
    assert masked[0].is_complex()
    torch.testing.assert_close(masked[0], spec * others["mask_spk1"])


def test_bad_nonlinear_is_refused():
    with pytest.raises(ValueError, match="nonlinear"):
        MambaSeparator(8, nonlinear="linear")


@pytest.mark.parametrize("name,params_m", [("mamba_tasnet_xs", 2.2), ("mamba_tasnet_s", 7.9),
                                            ("mamba_tasnet_m", 15.6), ("mamba_tasnet_l", 59.0),
                                            ("mamba2_tasnet_xs", 2.26)])
def test_recipe_configs_build(name, params_m):
    args = parse(CONF / f"{name}.yaml")
    assert args.separator == "mamba" and args.init is None
    model = EnhancementTask.build_model(args)
    assert isinstance(model.separator, MambaSeparator) and model.separator.num_spk == 2
    assert model.encoder.kernel_size == 16 and model.encoder.stride == 8
    n_params = sum(p.numel() for p in model.parameters())
    assert abs(n_params / 1e6 - params_m) < 0.06, n_params


MAMBA2 = {"mixer": "mamba2", "d_state": 8, "headdim": 8, "chunk_size": 16}


@pytest.mark.parametrize("separator_conf", [
    {},
    {"bidirectional_type": "outer", "bidirectional_merge": "concat"},
    {"causal": True},
    MAMBA2,
    {**MAMBA2, "bidirectional_type": "outer"},
    {**MAMBA2, "causal": True},
], ids=["inner", "outer_concat", "causal", "mamba2_inner", "mamba2_outer", "mamba2_causal"])
def test_full_model_batch_equals_alone(tmp_path, separator_conf):
    model = tiny_model(tmp_path, **separator_conf).eval()
    lengths = torch.tensor([400, 312, 203])
    wav = torch.randn(3, 400)
    for b, n in enumerate(lengths):
        wav[b, n:] = 0
    with torch.no_grad():
        batch = model.forward_enhance(wav, lengths)[0]
        for b, n in enumerate(lengths.tolist()):
            alone = model.forward_enhance(wav[b:b + 1, :n], lengths[b:b + 1])[0]
            for spk in range(2):
                torch.testing.assert_close(batch[spk][b, :n], alone[spk][0],
                                           atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("mixer_conf", [{}, MAMBA2], ids=["mamba", "mamba2"])
def test_causal_streaming_equals_offline(mixer_conf):
    sep = MambaSeparator(12, causal=True, **{**TINY, **mixer_conf}).eval()
    x = torch.rand(2, 37, 12)
    with torch.no_grad():
        offline, _, offline_masks = sep(x, None)
        states, pieces, masks = None, [], []
        for start, stop in [(0, 1), (1, 6), (6, 17), (17, 37)]:
            out, states, others = sep.forward_streaming(x[:, start:stop], states)
            pieces.append(out)
            masks.append(others["mask_spk2"])
    for spk in range(2):
        streamed = torch.cat([p[spk] for p in pieces], dim=1)
        torch.testing.assert_close(streamed, offline[spk], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(torch.cat(masks, 1), offline_masks["mask_spk2"],
                               atol=1e-5, rtol=1e-5)


def test_streaming_a_bidirectional_model_is_refused():
    sep = MambaSeparator(8, **TINY)
    with pytest.raises(RuntimeError, match="causal"):
        sep.forward_streaming(torch.rand(1, 1, 8))


def test_training_raises_si_snr(tmp_path):
    model = tiny_model(tmp_path, d_model=32)
    t = torch.arange(1600) / 8000
    refs = [torch.sin(2 * torch.pi * 220 * t),
            0.5 * torch.sign(torch.sin(2 * torch.pi * 35 * t))]
    mix = (refs[0] + refs[1])[None]
    lengths = torch.tensor([1600])
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    losses = []
    for _ in range(30):
        loss, _, _ = model(mix, lengths, speech_ref1=refs[0][None],
                           speech_ref2=refs[1][None])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] - 10, losses  # SI-SNR up by more than 10 dB


def test_mixer_mamba2_builds_mamba2_layers(tmp_path):
    from espnet_mamba.modules import BiMamba2Inner, Mamba2

    model = tiny_model(tmp_path, **MAMBA2)
    assert all(isinstance(layer.mixer, BiMamba2Inner) for layer in model.separator.layers)
    causal = MambaSeparator(16, causal=True, **{**TINY, **MAMBA2})
    assert all(isinstance(layer.mixer, Mamba2) for layer in causal.layers)
    with pytest.raises(ValueError, match="headdim=12 must divide d_inner"):
        MambaSeparator(16, **{**TINY, **MAMBA2, "headdim": 12})
