"""ONNX export: graphs pass onnx.checker, ONNX Runtime equals PyTorch (1e-4 of the
output's scale) at lengths not seen at export, the streaming graph chunk by chunk equals
the offline causal encoder, the ONNX Runtime demo runs without torch, clear errors."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
import soundfile as sf
import torch
import yaml

from espnet_mamba.asr.streaming import StreamingSpeech2Text
from espnet_mamba.export.graphs import ExportError
from espnet_mamba.export.onnx import (
    export_asr_encoder,
    export_enh,
    export_onnx,
    export_streaming_asr,
)
from espnet_mamba.export.runtime import OnnxStreamingASR, tokens_to_text
from tiny_models import SR, build_enh, build_model, tone_utterance, train_briefly

TOL = 1e-4
# Mamba-2 layers: heads of 16 channels, state 16, chunks of 16 steps
MAMBA2 = dict(mixer="mamba2", headdim=16, d_state=16, chunk_size=16)


def session(path: Path) -> onnxruntime.InferenceSession:
    return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def assert_close(actual: np.ndarray, expected: np.ndarray) -> None:
    assert actual.shape == expected.shape
    scale = np.abs(expected).max()
    assert np.abs(actual - expected).max() <= TOL * scale, np.abs(actual - expected).max()


def args_of(tmp_path: Path):
    class Args:
        token_type = yaml.safe_load((tmp_path / "config.yaml").read_text())["token_type"]
    return Args


@pytest.fixture(scope="module")
def streaming(tmp_path_factory):
    """A trained tiny causal model (it spells tone sequences) and its streaming export."""
    root = tmp_path_factory.mktemp("streaming")
    torch.manual_seed(0)  # the initial weights, so the training reaches the same model
    model = build_model(root)
    train_briefly(model, root)
    config = export_onnx("asr", "streaming", root / "config.yaml", root / "model.pth",
                         root / "onnx")
    return root, model, config


def test_streaming_export_writes_checked_graphs_and_config(streaming):
    root, model, config_path = streaming
    config = json.loads(config_path.read_text())
    for name in (config["graph"], config["frontend"]["graph"]):
        onnx.checker.check_model(str(root / "onnx" / name), full_check=True)
    assert config["kind"] == "streaming" and config["stride"] == 4
    assert config["cache_frames"] == 3  # conv2d: receptive field 7 - stride 4
    assert [s["name"] for s in config["states"]] == [
        "layer0_conv", "layer0_ssm", "layer1_conv", "layer1_ssm"]
    assert config["states"][1]["shape"] == [1, 64, 8]  # d_inner 64, d_state 8
    assert config["token_list"] == list(model.token_list)
    assert config["max_rel_error"] <= TOL


def test_frontend_graph_equals_espnet_frontend(streaming):
    root, model, _ = streaming
    speech = torch.from_numpy(tone_utterance("abc", np.random.default_rng(1)))
    with torch.no_grad():
        feats, _ = model.frontend(speech[None], torch.tensor([len(speech)]))
        feats, _ = model.normalize(feats, torch.tensor([feats.shape[1]]))
    from espnet_mamba.asr.framing import SampleFramer

    framer = SampleFramer(128, 40)
    frames = np.concatenate([framer.accept(speech.numpy()), framer.finish()])
    out = session(root / "onnx" / "frontend.onnx").run(None, {"frames": frames})[0]
    assert_close(out, feats[0].numpy())


def offline_logp(model, speech: np.ndarray) -> np.ndarray:
    """CTC log-probabilities of the offline causal PyTorch encoder."""
    with torch.no_grad():
        enc, _ = model.encode(torch.from_numpy(speech)[None], torch.tensor([len(speech)]))
        return model.ctc.log_softmax(enc)[0].numpy()


def onnx_stream(model_dir: Path, speech: np.ndarray, chunk: int):
    """Stream ``speech`` through :class:`OnnxStreamingASR` in ``chunk``-sample pieces;
    return every chunk's CTC log-probabilities (concatenated) and the final result."""
    rec = OnnxStreamingASR(model_dir)
    logps, run = [], rec.model.run

    def keep(*args):
        out = run(*args)
        logps.append(out[0][0])
        return out

    rec.model.run = keep
    for start in range(0, len(speech), chunk):
        rec(speech[start:start + chunk])
    final = rec.finish()
    return np.concatenate(logps), final


@pytest.mark.parametrize("chunk_ms", [10, 160, 1000])
def test_streaming_onnx_equals_offline_causal_pytorch(streaming, chunk_ms):
    root, model, _ = streaming
    speech = tone_utterance("acbba", np.random.default_rng(7))  # unseen in training
    logp, final = onnx_stream(root / "onnx", speech, SR * chunk_ms // 1000)
    assert_close(logp, offline_logp(model, speech))
    s2t = StreamingSpeech2Text.from_files(root / "config.yaml", root / "model.pth")
    s2t(speech)
    expected = s2t.finish()
    assert final.token_ids == expected.token_ids and final.text == expected.text
    assert final.text == "acbba"  # the trained model spells the unseen sequence


@pytest.mark.parametrize("input_layer,mixer_conf", [("linear", {}), ("conv2d6", {}),
                                                    ("conv2d", MAMBA2)])
def test_streaming_export_of_other_input_layers_and_mixers(tmp_path, input_layer, mixer_conf):
    """linear carries no frames (receptive field 1); conv2d6 carries 5 (11 - 6), conv2d 3
    (7 - 4); Mamba-2 layers carry their SSD states."""
    model = build_model(tmp_path, input_layer=input_layer, **mixer_conf)
    config = json.loads(export_streaming_asr(model, args_of(tmp_path), tmp_path / "onnx")
                        .read_text())
    assert config["cache_frames"] == {"linear": 0, "conv2d6": 5, "conv2d": 3}[input_layer]
    speech = tone_utterance("cab", np.random.default_rng(2))
    logp, _ = onnx_stream(tmp_path / "onnx", speech, 555)
    assert_close(logp, offline_logp(model, speech))


def test_streaming_graph_at_unseen_chunk_sizes(streaming):
    root, model, _ = streaming
    from espnet_mamba.export.graphs import StreamingASRGraph

    graph = StreamingASRGraph(model).eval()
    sess = session(root / "onnx" / "streaming_asr.onnx")
    rng = torch.Generator().manual_seed(0)
    for chunks in (1, 3, 50):  # exported with 2 (and checked with 5)
        inputs = [torch.randn(1, 4 * chunks, 20, generator=rng), torch.randn(1, 3, 20)] + [
            torch.randn(shape, generator=rng) * 0.1 for _, shape in graph.state_shapes]
        with torch.no_grad():
            expected = graph(*inputs)
        names = [i.name for i in sess.get_inputs()]
        out = sess.run(None, dict(zip(names, [t.numpy() for t in inputs])))
        for o, e in zip(out, expected):
            assert_close(o, e.numpy())


ENCODERS = {
    "mamba_bidirectional_inner": dict(encoder="mamba", bidirectional=True),
    "mamba_causal": dict(encoder="mamba", bidirectional=False),
    "mamba_outer_concat": dict(encoder="mamba", bidirectional=True, bidirectional_type="outer",
                               bidirectional_merge="concat"),
    "conmamba": dict(encoder="conmamba", linear_units=64, cnn_module_kernel=7),
    "conmamba_conv2d6": dict(encoder="conmamba", linear_units=64, input_layer="conv2d6"),
    "mamba2_bidirectional_inner": dict(encoder="mamba", bidirectional=True, **MAMBA2),
    "conmamba2": dict(encoder="conmamba", linear_units=64, cnn_module_kernel=7, **MAMBA2),
}


@pytest.mark.parametrize("name", ENCODERS)
def test_offline_encoder_graph_equals_pytorch(tmp_path, name):
    model = build_model(tmp_path, **ENCODERS[name]).eval()
    config = json.loads(export_asr_encoder(model, args_of(tmp_path), tmp_path / "onnx")
                        .read_text())
    path = tmp_path / "onnx" / config["graph"]
    onnx.checker.check_model(str(path), full_check=True)
    sess = session(path)
    rng = torch.Generator().manual_seed(1)
    for lengths in ([173, 90, config["min_frames"]], [config["min_frames"] + 1], [400]):
        feats = torch.randn(len(lengths), max(lengths), 20, generator=rng)
        feats[1:, 90:] = float("nan")  # padding holds anything
        lens = torch.tensor(lengths)
        with torch.no_grad():
            enc, olens, _ = model.encoder(feats, lens)
        out = sess.run(None, {"feats": feats.numpy(), "feats_lengths": lens.numpy()})
        np.testing.assert_array_equal(out[1], olens.numpy())
        assert_close(out[0], enc.numpy())
        with torch.no_grad():
            assert_close(out[2], model.ctc.log_softmax(enc).numpy())


@pytest.mark.parametrize("causal,mixer_conf", [(False, {}), (True, {}), (False, MAMBA2)])
def test_separator_graph_equals_espnet_model(tmp_path, causal, mixer_conf):
    model = build_enh(tmp_path, causal=causal, **mixer_conf)
    config = json.loads(export_enh(model, tmp_path / "onnx").read_text())
    sess = session(tmp_path / "onnx" / config["graph"])
    rng = torch.Generator().manual_seed(2)
    for samples in (8 * 500, 8 * 1999):  # exported with 4000 and 6008 samples
        mix = torch.randn(1, samples, generator=rng) * 0.1
        with torch.no_grad():
            expected = model.forward_enhance(mix, torch.tensor([samples]))[0]
        out = sess.run(None, {"speech_mix": mix.numpy(),
                              "lengths": np.array([samples], dtype=np.int64)})[0]
        assert out.shape == (1, 2, samples)
        for spk in range(2):
            assert_close(out[:, spk], expected[spk].numpy())


def test_what_cannot_be_exported_says_so(tmp_path):
    bidirectional = build_model(tmp_path, bidirectional=True)
    with pytest.raises(ExportError, match="bidirectional: false"):
        export_streaming_asr(bidirectional, args_of(tmp_path), tmp_path / "a")
    utterance_mvn = build_model(tmp_path, normalize="utterance_mvn")
    with pytest.raises(ExportError, match="utterance_mvn uses statistics of the whole utterance"):
        export_asr_encoder(utterance_mvn, args_of(tmp_path), tmp_path / "c")
    with pytest.raises(ExportError, match="model_file: no such file"):
        export_onnx("asr", "offline", tmp_path / "config.yaml", tmp_path / "missing.pth",
                    tmp_path / "d")


def test_cli_exports_and_reports(tmp_path):
    build_model(tmp_path)
    cmd = [sys.executable, "-m", "espnet_mamba.export", "onnx", "--task", "asr", "--kind",
           "streaming", "--train_config", str(tmp_path / "config.yaml"), "--model_file"]
    done = subprocess.run(cmd + [str(tmp_path / "model.pth"), "--output_dir",
                                 str(tmp_path / "onnx")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "streaming graphs streaming_asr.onnx + frontend.onnx, opset 18" in done.stdout
    bad = subprocess.run(cmd + [str(tmp_path / "nope.pth"), "--output_dir",
                                str(tmp_path / "x")], capture_output=True, text=True)
    assert bad.returncode == 1
    assert "espnet_mamba.export: error: model_file: no such file" in bad.stderr


def test_onnx_demo_runs_without_torch_and_matches_pytorch(streaming, tmp_path):
    root, _, _ = streaming
    wav = tmp_path / "unseen.wav"
    sf.write(wav, tone_utterance("cabac", np.random.default_rng(11)), SR)
    code = ("import sys; sys.modules['torch'] = None  # any torch import fails\n"
            "from espnet_mamba.bin import stream_asr\n"
            f"stream_asr.main(['--onnx_dir', {str(root / 'onnx')!r}, '--wav', {str(wav)!r},"
            " '--chunk_ms', '100'])\n"
            "assert sys.modules['torch'] is None\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert any("partial:" in line for line in lines)
    assert "final: cabac" in lines
    torch_run = subprocess.run(
        [sys.executable, "-m", "espnet_mamba.bin.stream_asr", "--asr_train_config",
         str(root / "config.yaml"), "--asr_model_file", str(root / "model.pth"), "--wav",
         str(wav), "--chunk_ms", "100"], capture_output=True, text=True)
    assert "final: cabac" in torch_run.stdout.splitlines()


def test_tokens_to_text_follows_espnet_tokenizers():
    assert tokens_to_text(["a", "<space>", "b"], "char") == "a b"
    assert tokens_to_text(["\u2581he", "llo", "\u2581you"], "bpe") == "hello you"
    assert tokens_to_text(["hello", "you"], "word") == "hello you"
