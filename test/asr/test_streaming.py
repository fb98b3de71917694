"""Streaming ASR with a causal Mamba encoder: chunked output equals offline output,
state does not grow, greedy CTC matches the offline output, clear errors, demo CLI."""
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import yaml
from espnet2.tasks.asr import ASRTask

from espnet_mamba.asr.encoder.mamba_encoder import MambaEncoder
from espnet_mamba.bin import stream_asr
from espnet_mamba.asr.streaming import (
    StreamingFeatures,
    StreamingMambaEncoder,
    StreamingSpeech2Text,
)

TOKENS = ["<blank>", "<unk>", "a", "b", "c", "<sos/eos>"]
SR = 8000


def build_model(tmp_path: Path, normalize: str = "global_mvn", bidirectional: bool = False,
                num_blocks: int = 2):
    """A tiny CTC-only ASR model with a ``mamba`` encoder; saved as config + weights."""
    stats = tmp_path / "feats_stats.npz"
    rng = np.random.default_rng(0)
    np.savez(stats, count=np.array(100), sum=rng.normal(size=20) * 100,
             sum_square=np.full(20, 400.0))
    conf = {
        "encoder": "mamba",
        "encoder_conf": {"output_size": 32, "num_blocks": num_blocks, "d_state": 8,
                         "bidirectional": bidirectional},
        "frontend_conf": {"fs": SR, "n_fft": 128, "hop_length": 40, "n_mels": 20},
        "normalize": normalize,
        "normalize_conf": {"stats_file": str(stats)} if normalize == "global_mvn" else {},
        "model_conf": {"ctc_weight": 1.0}, "token_type": "char",
    }
    (tmp_path / "tokens.txt").write_text("\n".join(TOKENS) + "\n")
    (tmp_path / "conf.yaml").write_text(yaml.safe_dump(conf))
    args = ASRTask.get_parser().parse_args(
        ["--config", str(tmp_path / "conf.yaml"), "--token_list", str(tmp_path / "tokens.txt")])
    model = ASRTask.build_model(args).eval()
    with torch.no_grad():  # make the random CTC head emit blanks and tokens
        model.ctc.ctc_lo.weight.mul_(20)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(vars(args)))
    torch.save(model.state_dict(), tmp_path / "model.pth")
    return model


def audio(seconds: float) -> torch.Tensor:
    t = torch.arange(int(seconds * SR)) / SR
    return 0.3 * torch.sin(2 * torch.pi * (300 + 200 * torch.sin(t)) * t) + 0.05 * torch.randn(
        t.shape)


def stream(fn, speech: torch.Tensor, chunk: int) -> torch.Tensor:
    return torch.cat([fn(speech[i:i + chunk]) for i in range(0, len(speech), chunk)], dim=-2)


@pytest.mark.parametrize("input_layer", ["conv2d", "conv2d6", "linear"])
def test_chunked_encoder_equals_offline(input_layer):
    enc = MambaEncoder(20, output_size=32, num_blocks=2, d_state=8, bidirectional=False,
                       input_layer=input_layer).eval()
    xs = torch.randn(1, 101, 20)
    offline, _, _ = enc(xs, torch.tensor([101]))
    for chunk in [1, 5, 16, 101]:  # down to fewer frames than the receptive field
        state, outs = None, []
        for i in range(0, 101, chunk):
            out, state = enc.forward_chunk(xs[:, i:i + chunk], state)
            outs.append(out)
        torch.testing.assert_close(torch.cat(outs, 1), offline, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("chunk_ms", [5, 160, 1000])
def test_streaming_pipeline_equals_offline_encode(chunk_ms, tmp_path):
    model = build_model(tmp_path)
    speech = audio(1.3)
    with torch.no_grad():
        offline, _ = model.encode(speech[None], torch.tensor([len(speech)]))
    streamer = StreamingMambaEncoder(model)
    chunk = SR * chunk_ms // 1000
    out = torch.cat([stream(streamer.accept, speech, chunk), streamer.finish()])
    torch.testing.assert_close(out, offline[0], atol=1e-5, rtol=1e-5)


def test_features_match_offline_frontend_at_both_ends(tmp_path):
    model = build_model(tmp_path, normalize="none")
    speech = audio(0.5)[:3999]  # not a multiple of the hop
    offline, _ = model.frontend(speech[None], torch.tensor([len(speech)]))
    features = StreamingFeatures(model.frontend, None)
    out = torch.cat([stream(features.accept, speech, 37), features.finish()], dim=1)
    torch.testing.assert_close(out, offline, atol=1e-4, rtol=1e-5)


def test_state_size_is_constant_over_a_long_stream(tmp_path):
    streamer = StreamingMambaEncoder(build_model(tmp_path, num_blocks=1))
    chunk = audio(0.16 * 500)
    sizes = []
    for i in range(500):
        streamer.accept(chunk[i * 1280:(i + 1) * 1280])
        sizes.append(streamer.state_numel())
    assert max(sizes[10:]) == min(sizes[10:]) and max(sizes) <= sizes[-1]


def test_partial_hypotheses_end_in_offline_greedy_ctc(tmp_path):
    model = build_model(tmp_path)
    speech = audio(3.0)
    s2t = StreamingSpeech2Text(model, TOKENS)
    partials = [s2t(speech[i:i + 1280]).token_ids for i in range(0, len(speech), 1280)]
    final = s2t.finish()
    with torch.no_grad():
        enc, _ = model.encode(speech[None], torch.tensor([len(speech)]))
        ids = torch.unique_consecutive(model.ctc.argmax(enc)[0]).tolist()
    expected = [i for i in ids if i != model.blank_id]
    assert final.token_ids == expected and len(expected) > 3
    assert all(final.token_ids[:len(p)] == p for p in partials)  # partials only grow
    assert s2t.result().token_ids == []  # finish() reset the stream


def test_utterance_mvn_and_bidirectional_are_rejected(tmp_path):
    with pytest.raises(ValueError, match="utterance_mvn .* cannot stream"):
        StreamingMambaEncoder(build_model(tmp_path, normalize="utterance_mvn"))
    with pytest.raises(ValueError, match="bidirectional"):
        StreamingMambaEncoder(build_model(tmp_path, bidirectional=True))
    enc = MambaEncoder(20, output_size=16, num_blocks=1)
    with pytest.raises(RuntimeError, match="causal MambaEncoder"):
        enc.forward_chunk(torch.randn(1, 10, 20))


def test_demo_cli_prints_partial_results(tmp_path, capsys):
    build_model(tmp_path)
    sf.write(tmp_path / "a.wav", audio(1.5).numpy(), SR)
    stream_asr.main(["--asr_train_config", str(tmp_path / "config.yaml"),
                        "--asr_model_file", str(tmp_path / "model.pth"),
                        "--wav", str(tmp_path / "a.wav"), "--chunk_ms", "160"])
    out = capsys.readouterr().out
    assert "partial:" in out and "final:" in out
    assert "latency per chunk (160 ms chunks, 11 chunks)" in out and "real-time factor" in out
