"""Mamba and ConMamba encoders: lengths from the conv arithmetic, padding invariance,
too-short inputs, intermediate CTC, defaults."""
import pytest
import torch

from espnet_mamba.asr.encoder.conmamba_encoder import ConMambaEncoder
from espnet_mamba.asr.encoder.mamba_encoder import MambaEncoder
from espnet_mamba.asr.encoder.subsampling import INPUT_LAYERS, InputLayer
from espnet_mamba.compat import TooShortUttError


@pytest.mark.parametrize("layer", INPUT_LAYERS)
def test_output_lengths_follow_the_convolutions(layer):
    embed = InputLayer(layer, 20, 20 if layer == "none" else 16, 0.0).eval()
    for n in [embed.min_length, 17, 64, 101]:
        out, olens = embed(torch.randn(1, n, 20), torch.tensor([n]))
        assert out.shape[1] == olens.item() >= 1, (layer, n)


def test_lengths_do_not_depend_on_batch_padding():
    """ESPnet's mask-based length says 30 here inside a 200-frame batch, 29 alone."""
    embed = InputLayer("conv2d", 80, 32, 0.0)
    _, olens = embed(torch.randn(2, 200, 80), torch.tensor([200, 120]))
    assert olens.tolist() == [49, 29]
    alone, _ = embed(torch.randn(1, 120, 80), torch.tensor([120]))
    assert alone.shape[1] == 29


@pytest.mark.parametrize("cls", [MambaEncoder, ConMambaEncoder])
def test_too_short_batch_raises_espnets_error(cls):
    """As ESPnet's Conformer: only a batch whose padded length is too short raises."""
    enc = cls(40, output_size=16, num_blocks=1)
    with pytest.raises(TooShortUttError, match="has 6 frames and is too short for conv2d"):
        enc(torch.randn(2, 6, 40), torch.tensor([6, 6]))


@pytest.mark.parametrize("cls", [MambaEncoder, ConMambaEncoder])
def test_short_member_of_a_batch_gets_zero_frames(cls):
    enc = cls(40, output_size=16, num_blocks=1).eval()
    out, olens, _ = enc(torch.randn(2, 30, 40), torch.tensor([30, 6]))
    assert olens.tolist() == [6, 0]
    assert out.shape == (2, 6, 16) and torch.isfinite(out).all()
    assert (out[1] == 0).all()


ENCODERS = {
    "mamba_inner": lambda: MambaEncoder(40, output_size=32, num_blocks=2, d_state=8),
    "mamba_outer_concat": lambda: MambaEncoder(40, output_size=32, num_blocks=2, d_state=8,
                                               bidirectional_type="outer",
                                               bidirectional_merge="concat"),
    "mamba_causal": lambda: MambaEncoder(40, output_size=32, num_blocks=2, d_state=8,
                                         bidirectional=False, norm="rms_norm"),
    "conmamba": lambda: ConMambaEncoder(40, output_size=32, linear_units=64, num_blocks=2,
                                        d_state=8, cnn_module_kernel=15),
    "conmamba_conv2d6": lambda: ConMambaEncoder(40, output_size=32, linear_units=64,
                                                num_blocks=2, input_layer="conv2d6"),
}


@pytest.mark.parametrize("name", sorted(ENCODERS))
def test_padded_batch_equals_each_utterance_alone(name):
    enc = ENCODERS[name]().eval()
    ilens = torch.tensor([200, 120, 61])
    xs = torch.randn(3, 200, 40)
    xs[2, 61:] = 30.0  # garbage in the padding must not matter
    out, olens, _ = enc(xs, ilens)
    assert out.shape[:2] == (3, olens.max())
    for b, n in enumerate(ilens.tolist()):
        alone, olen, _ = enc(xs[b: b + 1, :n], ilens[b: b + 1])
        assert olen.item() == olens[b].item()
        torch.testing.assert_close(out[b, : olen.item()], alone[0], rtol=1e-5, atol=1e-5)
        assert (out[b, olen.item():] == 0).all()


@pytest.mark.parametrize("cls", [MambaEncoder, ConMambaEncoder])
def test_builds_from_input_size_alone(cls):
    enc = cls(80)
    out, olens, states = enc(torch.randn(1, 50, 80), torch.tensor([50]))
    assert out.shape == (1, 11, enc.output_size()) and states is None


@pytest.mark.parametrize("cls", [MambaEncoder, ConMambaEncoder])
def test_intermediate_ctc_outputs(cls):
    enc = cls(40, output_size=16, num_blocks=3, interctc_layer_idx=[1, 2])
    (out, inter), olens, _ = enc(torch.randn(2, 40, 40), torch.tensor([40, 30]))
    assert [i for i, _ in inter] == [1, 2]
    assert all(h.shape == out.shape for _, h in inter)
    with pytest.raises(ValueError, match="interctc_layer_idx"):
        cls(40, num_blocks=3, interctc_layer_idx=[3])


def test_self_conditioned_ctc_uses_the_conditioning_layer():
    class FakeCTC:
        def softmax(self, x):
            return torch.softmax(x[..., :5], -1)

    enc = MambaEncoder(40, output_size=16, num_blocks=2, interctc_layer_idx=[1],
                       interctc_use_conditioning=True).eval()
    xs, ilens = torch.randn(1, 40, 40), torch.tensor([40])
    enc.conditioning_layer = torch.nn.Linear(5, 16)
    (a, _), _, _ = enc(xs, ilens, ctc=FakeCTC())
    torch.nn.init.zeros_(enc.conditioning_layer.weight)
    torch.nn.init.zeros_(enc.conditioning_layer.bias)
    (b, _), _, _ = enc(xs, ilens, ctc=FakeCTC())
    assert not torch.allclose(a, b)


def test_bad_options_are_named():
    with pytest.raises(ValueError, match="input_layer"):
        MambaEncoder(40, input_layer="conv3d")
    with pytest.raises(ValueError, match="bidirectional_type"):
        MambaEncoder(40, bidirectional_type="sideways")
    with pytest.raises(ValueError, match="activation_type"):
        ConMambaEncoder(40, activation_type="tanh")
    with pytest.raises(ValueError, match="cnn_module_kernel"):
        ConMambaEncoder(40, cnn_module_kernel=30)
    with pytest.raises(ValueError, match="norm"):
        MambaEncoder(40, norm="batch_norm")
