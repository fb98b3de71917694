"""The mamba and conmamba encoders with ``mixer: mamba2``: padding, streaming, config."""
import pytest
import torch

from espnet_mamba.asr.encoder.conmamba_encoder import ConMambaEncoder
from espnet_mamba.asr.encoder.mamba_encoder import MambaEncoder
from espnet_mamba.modules import BiMamba2Inner, Mamba2

SMALL = dict(output_size=32, num_blocks=2, mixer="mamba2", d_state=8, headdim=16, chunk_size=8)


@pytest.mark.parametrize("make", [
    lambda: ConMambaEncoder(20, linear_units=48, cnn_module_kernel=5,
                            cnn_module_norm="layer_norm", **SMALL),
    lambda: MambaEncoder(20, **SMALL),
])
def test_padded_batch_equals_each_utterance_alone(make):
    torch.manual_seed(0)
    encoder = make().eval()
    layer = encoder.encoders[0]
    assert isinstance(getattr(layer, "mixer", None) or layer.mamba, BiMamba2Inner)
    x = torch.randn(2, 60, 20)
    lengths = torch.tensor([60, 41])
    x[1, 41:] = float("nan")
    out, out_lens, _ = encoder(x, lengths)
    for i in range(2):
        alone, alone_lens, _ = encoder(x[i:i + 1, :lengths[i]], lengths[i:i + 1])
        assert out_lens[i] == alone_lens[0]
        torch.testing.assert_close(out[i, :out_lens[i]], alone[0], rtol=1e-5, atol=1e-5)


def test_causal_mamba2_encoder_streams_as_offline():
    torch.manual_seed(0)
    encoder = MambaEncoder(20, bidirectional=False, **SMALL).eval()
    assert isinstance(encoder.encoders[0].mixer, Mamba2)
    x = torch.randn(1, 75, 20)
    offline, _, _ = encoder(x, torch.tensor([75]))
    state, parts = None, []
    for start in range(0, 75, 11):
        out, state = encoder.forward_chunk(x[:, start:start + 11], state)
        parts.append(out)
    torch.testing.assert_close(torch.cat(parts, 1), offline, rtol=1e-5, atol=1e-5)


def test_mixer_choice_and_its_knobs_are_checked():
    with pytest.raises(ValueError, match="mixer"):
        MambaEncoder(20, **dict(SMALL, mixer="mamba3"))
    with pytest.raises(ValueError, match="headdim=24 must divide d_inner"):
        MambaEncoder(20, **dict(SMALL, headdim=24))
    # the Mamba-2 knobs are ignored by the default mixer
    assert not hasattr(MambaEncoder(20, output_size=32, num_blocks=1, headdim=24)
                       .encoders[0].mixer, "headdim")
