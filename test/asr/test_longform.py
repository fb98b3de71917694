"""Long-form ASR: ESPnet's Speech2Text decodes minutes of audio with a ConMamba CTC
model in one pass; the fixes to ESPnet that this needs (linear pad mask, time-synchronous
search) are in place after ``import espnet_mamba`` and change nothing else; the chunked
conv2d subsampling gives the same output."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from espnet_mamba.asr.encoder.subsampling import InputLayer
from espnet_mamba.bench.cases.longform import build_speech2text, save_model
from espnet_mamba.compat import legacy_nets
from espnet_mamba.espnet_fixes import _ESPNET_PAD_MASK, linear_pad_mask

CONF_DIR = Path(__file__).resolve().parents[2] / "conf" / "asr"
TINY = {"output_size": 32, "linear_units": 64, "num_blocks": 1, "d_state": 8,
        "cnn_module_kernel": 7}
nets_utils = legacy_nets("pytorch_backend.nets_utils")


def test_speech2text_decodes_three_minutes_in_one_pass(tmp_path, monkeypatch):
    # ESPnet's own make_pad_mask would build three 18002 x 18002 matrices here (1 GB);
    # ESPnet 202511's time-synchronous search fails without espnet_fixes.
    assert nets_utils._make_pad_mask_traceable is linear_pad_mask
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
    espnet = _ESPNET_PAD_MASK[nets_utils.__name__]
    lengths = torch.tensor([9, 5, 1, 0, 12])[:3 if shape else 5]
    xs = None if shape is None else torch.zeros(shape)
    expected = espnet(lengths, xs, length_dim)
    assert torch.equal(linear_pad_mask(lengths, xs, length_dim), expected)
    assert torch.equal(nets_utils.make_pad_mask(lengths, xs, length_dim), expected)
    if xs is None:
        assert torch.equal(linear_pad_mask(lengths, None, -1, maxlen=14),
                           espnet(lengths, None, -1, maxlen=14))


def test_fixes_can_be_turned_off():
    code = ("import espnet_mamba; from espnet_mamba.compat import legacy_nets; "
            "n = legacy_nets('pytorch_backend.nets_utils'); "
            "print(n._make_pad_mask_traceable.__module__)")
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    outputs = [subprocess.run([sys.executable, "-c", code], env=dict(env, **extra), check=True,
                              capture_output=True, text=True).stdout.split()[-1]
               for extra in ({}, {"ESPNET_MAMBA_ESPNET_FIXES": "0"})]
    assert outputs == ["espnet_mamba.espnet_fixes", nets_utils.__name__]


@pytest.mark.parametrize("input_layer", ["conv2d", "conv2d6", "conv2d8"])
def test_chunked_subsampling_without_gradients_equals_whole(input_layer):
    torch.manual_seed(0)
    layer = InputLayer(input_layer, 20, 16).eval()
    xs, ilens = torch.randn(2, 301, 20), torch.tensor([301, 250])
    whole, whole_lens = layer(xs, ilens)  # gradients on: one pass
    layer.inference_chunk = 7
    with torch.no_grad():
        chunked, lens = layer(xs, ilens)
    assert torch.equal(lens, whole_lens) and chunked.shape == whole.shape
    torch.testing.assert_close(chunked, whole, rtol=1e-5, atol=1e-6)


def test_asr_inference_cli_decodes_two_minutes_with_longform_config(tmp_path):
    """The recipes' decode step (espnet2.bin.asr_inference through the launcher) with
    conf/asr/decode_asr_longform.yaml: time-synchronous search on a 2-minute file."""
    import soundfile as sf

    config, weights = save_model("conmamba", tmp_path, CONF_DIR, "utterance_mvn", vocab=50,
                                 token_rate=3.0, sharpness=10.0, encoder_conf=TINY)
    wav = tmp_path / "long.wav"
    sf.write(wav, 0.1 * torch.randn(2 * 60 * 16000).numpy(), 16000)
    (tmp_path / "wav.scp").write_text(f"rec1 {wav}\n")
    out = tmp_path / "decode"
    subprocess.run(
        [sys.executable, "-m", "espnet_mamba.run", "-m", "espnet2.bin.asr_inference",
         "--config", str(CONF_DIR / "decode_asr_longform.yaml"), "--asr_train_config",
         str(config), "--asr_model_file", str(weights), "--output_dir", str(out),
         "--data_path_and_name_and_type", f"{tmp_path / 'wav.scp'},speech,sound",
         "--batch_size", "1", "--ngpu", "0"],
        check=True, capture_output=True, env=dict(os.environ, PYTHONPATH=str(
            Path(__file__).resolve().parents[2])))
    key, *tokens = (out / "1best_recog" / "token").read_text().split()
    assert key == "rec1" and 60 < len(tokens) < 1500  # about 3 tokens a second
