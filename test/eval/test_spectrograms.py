"""Spectrogram grids of synthesized and recorded utterances."""
import librosa
import matplotlib.image
import numpy as np
import pytest
import soundfile as sf

from espnet_mamba.bin.plot_spectrograms import main
from espnet_mamba.eval.spectrograms import log_mel


def tone(path, freq, seconds=0.5, fs=16000):
    t = np.arange(int(seconds * fs)) / fs
    sf.write(path, 0.3 * np.sin(2 * np.pi * freq * t), fs)
    return path


def scp(path, entries):
    path.write_text("".join(f"{utt} {wav}\n" for utt, wav in entries.items()))
    return str(path)


def test_log_mel_peaks_at_the_tone(tmp_path):
    fs = 16000
    wav, _ = sf.read(tone(tmp_path / "a.wav", 1000.0))
    spec = log_mel(wav, fs)
    assert spec.shape == (80, 1 + len(wav) // 256)
    centres = librosa.mel_frequencies(n_mels=82, fmax=fs / 2)[1:-1]
    peak = int(np.median(spec.argmax(axis=0)))
    assert abs(centres[peak] - 1000.0) <= abs(centres[peak + 1] - centres[peak])


@pytest.fixture
def corpus(tmp_path):
    rec = {u: str(tone(tmp_path / f"r{u}.wav", f)) for u, f in (("u1", 300.0), ("u2", 900.0))}
    syn = {u: str(tone(tmp_path / f"s{u}.wav", f, 0.7)) for u, f in (("u1", 320.0), ("u2", 950.0))}
    (tmp_path / "text").write_text("u1 hello world\nu2 a longer sentence here\n")
    (tmp_path / "heard").write_text("u1 hello word\nu2 a longer sentence\n")
    return {"dir": tmp_path, "rec": scp(tmp_path / "rec.scp", rec),
            "syn": scp(tmp_path / "syn.scp", syn)}


def test_grid_png_has_a_panel_per_source_and_utterance(corpus, capsys):
    out = corpus["dir"] / "img" / "spec.png"
    main([f"recordings={corpus['rec']}", f"Mamba FastSpeech={corpus['syn']}",
          "--text", str(corpus["dir"] / "text"), "--utts", "u1", "u2", "--out", str(out),
          "--heard", f"Mamba FastSpeech={corpus['dir'] / 'heard'}"])
    assert f"wrote {out}" in capsys.readouterr().out
    height, width = matplotlib.image.imread(out).shape[:2]
    assert (width, height) == (840, 520)  # 2 columns x 4.2 in, 2 rows x 2.3 in + 0.6, 100 dpi


@pytest.mark.parametrize("args, message", [
    (["rec={rec}", "--utts", "u1", "u3"], "u3: no sentence for it in the text table"),
    (["rec={rec}", "syn={short}", "--utts", "u2"], "u2: not in the wav.scp of 'syn'"),
    (["rec={rec}", "syn={rate}", "--utts", "u1"], "u1: 'syn' is at 8000 Hz, other sources at [16000] Hz"),
    (["rec={rec}", "--heard", "syn={text}", "--utts", "u1"], "--heard labels ['syn'] name no source"),
    (["{rec}", "--utts", "u1"], "give LABEL=WAV_SCP"),
    (["a={rec}", "a={rec}", "--utts", "u1"], "label 'a' given twice"),
    (["rec={missing}", "--utts", "u1"], "missing file: {missing} (WAV_SCP)"),
])
def test_errors_name_the_utterance_or_argument(corpus, args, message):
    d = corpus["dir"]
    paths = {"rec": corpus["rec"], "text": str(d / "text"), "missing": str(d / "none.scp"),
             "short": scp(d / "short.scp", {"u1": corpus["dir"] / "su1.wav"}),
             "rate": scp(d / "rate.scp", {"u1": tone(d / "r8k.wav", 300.0, fs=8000)})}
    with pytest.raises(SystemExit) as exc:
        main([a.format(**paths) for a in args] + ["--text", str(d / "text"), "--out",
                                                   str(d / "x.png")])
    assert message.format(**paths) in str(exc.value)
    assert not (d / "x.png").exists()
