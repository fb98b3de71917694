"""Streaming ASR with a causal Mamba encoder: chunked output equals offline output,
state does not grow, greedy CTC matches the offline output, clear errors, demo CLI."""
import pytest
import soundfile as sf
import torch

from espnet_mamba.asr.encoder.mamba_encoder import MambaEncoder
from espnet_mamba.asr.streaming import (
    StreamingFeatures,
    StreamingMambaEncoder,
    StreamingSpeech2Text,
)
from espnet_mamba.bin import stream_asr
from tiny_models import SR, TOKENS, audio, build_model

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
