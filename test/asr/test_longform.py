"""Long-form ASR: ESPnet's Speech2Text decodes minutes of audio with a ConMamba CTC
model in one pass; the linear pad mask of the long-form benchmark equals ESPnet's."""
from pathlib import Path

import pytest
import torch

from espnet_mamba.bench.longform import (
    build_speech2text,
    linear_pad_mask,
    save_model,
)
from espnet_mamba.compat import legacy_nets

CONF_DIR = Path(__file__).resolve().parents[2] / "conf" / "asr"
TINY = {"output_size": 32, "linear_units": 64, "num_blocks": 1, "d_state": 8,
        "cnn_module_kernel": 7}
nets_utils = legacy_nets("pytorch_backend.nets_utils")


def test_speech2text_decodes_three_minutes_in_one_pass(tmp_path, monkeypatch):
    # ESPnet's own make_pad_mask would build three 18002 x 18002 matrices here (1 GB).
    monkeypatch.setattr(nets_utils, "_make_pad_mask_traceable", linear_pad_mask)
    config, weights = save_model("conmamba", tmp_path, CONF_DIR, "utterance_mvn", vocab=50,
                                 token_rate=3.0, sharpness=10.0, encoder_conf=TINY)
    s2t = build_speech2text(str(config), str(weights), "cpu", "timesync", beam_size=2)
    encoder, calls = s2t.asr_model.encoder, []
    forward = encoder.forward

    def spy(xs_pad, ilens, *args, **kwargs):
        calls.append((xs_pad.shape[1], ilens.tolist()))
        return forward(xs_pad, ilens, *args, **kwargs)

    monkeypatch.setattr(encoder, "forward", spy)
    samples = 3 * 60 * 16000
    text, tokens, token_ids, _ = s2t(0.1 * torch.randn(samples))[0]
    frames = 1 + samples // 160  # centred STFT, hop 160
    assert calls == [(frames, [frames])]
    assert 100 < len(token_ids) < 2000  # calibrated to about 3 tokens a second


@pytest.mark.parametrize("shape,length_dim", [(None, -1), ((3, 9), -1), ((3, 9, 4), 1),
                                              ((3, 4, 9), -1), ((3, 4, 9), 2)])
def test_linear_pad_mask_equals_espnets(shape, length_dim):
    lengths = torch.tensor([9, 5, 1])
    xs = None if shape is None else torch.zeros(shape)
    expected = nets_utils._make_pad_mask_traceable(lengths, xs, length_dim)
    assert torch.equal(linear_pad_mask(lengths, xs, length_dim), expected)
    if xs is None:
        assert torch.equal(linear_pad_mask(lengths, None, -1, maxlen=12),
                           nets_utils._make_pad_mask_traceable(lengths, None, -1, maxlen=12))
