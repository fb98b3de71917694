"""corpora.piper_engine: voice lookup, the speaking rate, zero noise, resampling and
errors, against a stand-in ``piper`` module with the real one's API (piper-tts itself is
run by test_real_engines.py, ``pytest -m system``); Piper voices in make_espeak_corpus."""
import importlib.metadata
import sys
import types
from dataclasses import dataclass

import numpy as np
import pytest
import soundfile as sf

from espnet_mamba.bin import make_espeak_corpus
from espnet_mamba.corpora import piper_engine
from espnet_mamba.corpora.espeak_corpus import speaker_id
from tiny_data import small_corpus

RATE = 22050  # the stand-in voices' rate, like Piper's medium voices


@dataclass
class SynthesisConfig:
    length_scale: float = 1.0
    noise_scale: float = 0.667
    noise_w_scale: float = 0.8


class PiperVoice:
    """Speaks a tone of 0.05 s per character times length_scale, in two chunks; fails
    unless both noise scales are 0 (the engine's deterministic setting)."""

    loaded = []

    def __init__(self, model):
        self.model, self.config = model, types.SimpleNamespace(sample_rate=RATE)

    @classmethod
    def load(cls, model, config_path):
        assert config_path == model + ".json"
        cls.loaded.append(model)
        return cls(model)

    def synthesize(self, text, syn_config):
        assert syn_config.noise_scale == 0 and syn_config.noise_w_scale == 0
        n = int(len(text) * 0.05 * syn_config.length_scale * RATE)
        tone = 0.5 * np.sin(np.arange(n) * 0.1).astype(np.float32)
        for part in (tone[: n // 2], tone[n // 2:]):
            yield types.SimpleNamespace(audio_float_array=part)


@pytest.fixture
def fake_piper(tmp_path, monkeypatch):
    """The stand-in module as ``piper``, a voice ``en_US-test-medium`` in a folder of
    $PIPER_VOICE_PATH and a voice ``en_GB-pkg-low`` in a ``*_piper_voice`` package."""
    module = types.ModuleType("piper")
    module.PiperVoice, module.SynthesisConfig = PiperVoice, SynthesisConfig
    monkeypatch.setitem(sys.modules, "piper", module)
    PiperVoice.loaded = []
    piper_engine._load.cache_clear()
    voices = tmp_path / "voices"
    package = tmp_path / "site" / "test_pkg_piper_voice" / "data"
    for folder, name in ((voices, "en_US-test-medium"), (package, "en_GB-pkg-low")):
        folder.mkdir(parents=True)
        (folder / f"{name}.onnx").write_bytes(b"model")
        (folder / f"{name}.onnx.json").write_text("{}")
    (package.parent / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setenv(piper_engine.PATH_VARIABLE, str(voices))
    yield
    piper_engine._load.cache_clear()


def test_synthesize_follows_the_rate_resamples_and_loads_each_voice_once(tmp_path, fake_piper):
    jobs = [("one two", "en_US-test-medium", 160, tmp_path / "0.wav"),
            ("he'll go", "en_GB-pkg-low", 80, tmp_path / "1.wav"),
            ("a b c", "en_US-test-medium", 320, tmp_path / "2.wav")]
    seconds = piper_engine.synthesize(jobs, 16000, processes=2)
    for (text, _, speed, path), sec in zip(jobs, seconds):
        n = int(len(text) * 0.05 * (160 / speed) * RATE)
        audio, fs = sf.read(path)
        assert fs == 16000 and abs(len(audio) - n * 16000 / RATE) <= 1 and sec == len(audio) / fs
    assert [p.rsplit("/", 1)[1] for p in PiperVoice.loaded] == ["en_US-test-medium.onnx",
                                                               "en_GB-pkg-low.onnx"]
    assert speaker_id("piper:en_US-test-medium") == "piper-en-US-test-medium"


def test_missing_voice_missing_piper_and_bad_text_are_named(tmp_path, fake_piper, monkeypatch):
    piper_engine.check_voices(["piper:en_US-test-medium", "piper:en_GB-pkg-low"])
    with pytest.raises(piper_engine.PiperError, match=r"no voice 'piper:en_US-nosuch'.*"
                       r"voices.*test_pkg_piper_voice/data"):
        piper_engine.check_voices(["piper:en_US-test-medium", "piper:en_US-nosuch"])
    (tmp_path / "voices" / "en_US-test-medium.onnx.json").unlink()  # a model without config
    with pytest.raises(piper_engine.PiperError, match="no en_US-test-medium.onnx with its"):
        piper_engine.check_voices(["piper:en_US-test-medium"])
    with pytest.raises(piper_engine.PiperError, match="letters, apostrophes and spaces"):
        piper_engine.synthesize([("x; rm", "en_GB-pkg-low", 160, tmp_path / "x.wav")], 16000, 1)
    def no_distribution(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", no_distribution)
    with pytest.raises(piper_engine.PiperError, match="not from an installed piper-tts"):
        piper_engine.version()  # a piper module without piper-tts's metadata
    monkeypatch.setitem(sys.modules, "piper", None)  # import piper fails
    with pytest.raises(piper_engine.PiperError, match="pip install piper-tts"):
        piper_engine.check_voices(["piper:en_GB-pkg-low"])
    piper_engine.check_voices([])  # no Piper voice asked for: Piper is not needed


def test_corpus_with_a_piper_voice(tmp_path, fake_piper, monkeypatch):
    monkeypatch.setattr(piper_engine, "version", lambda: "Piper 9.9")
    small_corpus(tmp_path, ["en-us+m1", "piper:en_US-test-medium"], ["piper:en_GB-pkg-low"])
    wav = dict(line.split() for line in (tmp_path / "data/train/wav.scp").read_text()
               .splitlines())
    assert {utt.split("_")[0] for utt in wav} == {"en-us-m1", "piper-en-US-test-medium"}
    for utt, path in wav.items():
        audio, rate = sf.read(path)
        assert rate == 16000 and len(audio) > 1000
        if utt.startswith("piper"):  # the stand-in's tone, resampled to 16 kHz
            tone = 0.5 * np.sin(np.arange(0, 100 * RATE / 16000, RATE / 16000) * 0.1)
            assert np.allclose(audio[20:100], tone[20:100], atol=0.02), utt
    note = (tmp_path / "data/train/synthesis").read_text()
    assert "; Piper 9.9\n" in note and "voices en-us+m1 piper:en_US-test-medium\n" in note
    assert "voices en-us+m1 piper:en_GB-pkg-low\n" in (tmp_path / "data/test/synthesis").read_text()


def test_unknown_piper_voice_stops_the_corpus(tmp_path, fake_piper, capsys):
    with pytest.raises(SystemExit):
        make_espeak_corpus.main(["--out", str(tmp_path / "data"), "--wavdir",
                                 str(tmp_path / "wav"), "--voices", "en-us+m1", "piper:nosuch"])
    assert "has no voice 'piper:nosuch'" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()
