"""TTS scoring CLIs: bin.score_tts (MCD files, errors) and bin.write_results tts (RTF
from inference logs, CER/WER, RESULTS.md)."""
import json
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from espnet_mamba.bin import score_tts, write_results
from espnet_mamba.data import DataError
from espnet_mamba.eval.tts import real_time_factor, synthesis_seconds


def tone(path: Path, seconds: float, f0: float, fs: int = 16000, noise: float = 0.0) -> Path:
    t = np.arange(int(fs * seconds)) / fs
    x = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 12))
    x = 0.3 * x / np.abs(x).max()
    x = x + noise * np.random.default_rng(0).standard_normal(t.size)
    sf.write(path, x.astype(np.float32), fs)
    return path


def write_scp(path: Path, entries: dict) -> Path:
    path.write_text("".join(f"{utt} {wav}\n" for utt, wav in entries.items()))
    return path


def test_score_tts_writes_per_utterance_mcd_and_summary(tmp_path, capsys):
    ref = {u: tone(tmp_path / f"ref_{u}.wav", 0.5, f0) for u, f0 in (("a", 120.0), ("b", 180.0))}
    syn = {"a": ref["a"], "b": tone(tmp_path / "syn_b.wav", 0.6, 180.0, noise=0.05)}
    out = tmp_path / "score_mcd"
    score_tts.main(["--ref_scp", str(write_scp(tmp_path / "ref.scp", ref)),
                    "--syn_scp", str(write_scp(tmp_path / "syn.scp", syn)),
                    "--output_dir", str(out)])
    scores = dict(line.split() for line in (out / "utt2mcd").read_text().splitlines())
    assert float(scores["a"]) == 0.0 and float(scores["b"]) > 1.0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["utts"] == 2 and (summary["order"], summary["alpha"]) == (23, 0.42)
    assert summary["mcd_mean"] == pytest.approx(float(scores["b"]) / 2, abs=1e-4)
    assert "on 2 utterances" in capsys.readouterr().out


def test_score_tts_names_missing_audio_and_rate_mismatch(tmp_path, capsys):
    ref = write_scp(tmp_path / "ref.scp", {"a": tone(tmp_path / "a.wav", 0.3, 150.0),
                                           "b": tone(tmp_path / "b.wav", 0.3, 150.0)})
    syn = write_scp(tmp_path / "syn.scp", {"a": tone(tmp_path / "a22.wav", 0.3, 150.0, fs=22050)})
    args = ["--ref_scp", str(ref), "--output_dir", str(tmp_path / "out")]
    cases = [(syn, "1 reference utterance(s) have no synthesized audio, e.g. b")]
    for scp, message in cases:
        with pytest.raises(SystemExit):
            score_tts.main(args + ["--syn_scp", str(scp)])
        assert f"score_tts: error: {message}" in capsys.readouterr().err
    write_scp(syn, {"a": tmp_path / "a22.wav", "b": tmp_path / "b.wav"})
    for scp, message in [(syn, f"a: sampling rates differ: {tmp_path / 'a22.wav'} is at 22050 Hz"),
                         (tmp_path / "nowhere.scp", f"missing file: {tmp_path / 'nowhere.scp'}")]:
        with pytest.raises(SystemExit):
            score_tts.main(args + ["--syn_scp", str(scp)])
        assert f"score_tts: error: {message}" in capsys.readouterr().err


LOG = """\
2026-11-22 01:08:06,772 (tts:290) INFO: Vocabulary size: 22
2026-11-22 01:08:11,511 (tts_inference:449) INFO: inference speed = 50.0 frames / sec.
2026-11-22 01:08:11,512 (tts_inference:454) INFO: {first} (size:32->100)
2026-11-22 01:08:12,000 (tts_inference:449) INFO: inference speed = 400.0 frames / sec.
2026-11-22 01:08:12,001 (tts_inference:454) INFO: {second} (size:37->200)
"""


def scored_set(decode_dir: Path, dset: str, mcd: float) -> Path:
    """A decoded and scored set: two 1-s wavs, two inference logs, MCD and ASR scores."""
    set_dir = decode_dir / dset
    (set_dir / "logs").mkdir(parents=True)
    (set_dir / "score_mcd").mkdir()
    wavs = {u: tone(set_dir / f"{u}.wav", 1.0, 100.0) for u in ("u1", "u2", "u3", "u4")}
    write_scp(set_dir / "wav.scp", wavs)
    (set_dir / "logs" / "tts_inference.1.log").write_text(LOG.format(first="u1", second="u2"))
    (set_dir / "logs" / "tts_inference.2.log").write_text(LOG.format(first="u3", second="u4"))
    (set_dir / "score_mcd" / "summary.json").write_text(json.dumps(
        {"utts": 4, "mcd_mean": mcd, "mcd_std": 0.5}))
    return set_dir


def test_synthesis_times_and_rtf_from_inference_logs(tmp_path):
    set_dir = scored_set(tmp_path, "test", 6.0)
    log = set_dir / "logs" / "tts_inference.1.log"
    assert synthesis_seconds(str(log)) == [("u1", 2.0), ("u2", 0.5)]
    # first utterance of each job left out: (0.5 + 0.5) s for 2 s of audio
    assert real_time_factor(str(set_dir)) == pytest.approx(0.5)
    # an untrained model's (nearly) empty outputs: speed logged as 0.0, time unknown
    for name in ("tts_inference.1.log", "tts_inference.2.log"):
        path = set_dir / "logs" / name
        path.write_text(re.sub(r"speed = [0-9.]+", "speed = 0.0", path.read_text()))
    assert synthesis_seconds(str(log)) == [("u1", None), ("u2", None)]
    assert real_time_factor(str(set_dir)) is None
    log.write_text(LOG.format(first="u1", second="u2").splitlines(keepends=True)[1])
    with pytest.raises(DataError, match="has no size line after it"):
        synthesis_seconds(str(log))


def test_results_md_has_mcd_cer_wer_and_rtf(tmp_path, capsys):
    exp = tmp_path / "tts_exp"
    decode = exp / "decode_valid.loss.ave"
    scored_set(decode, "test", 6.25)
    asr = decode / "test" / "asr"
    for unit, counts in (("cer", dict(snt=4, wrd=40, corr=36, sub=2, dele=1, ins=1)),
                         ("wer", dict(snt=4, wrd=8, corr=6, sub=2))):
        (asr / f"score_{unit}").mkdir(parents=True)
        (asr / f"score_{unit}" / "summary.json").write_text(json.dumps(counts))
    scored_set(decode, "dev", 7.5)  # no ASR there
    reference = tmp_path / "reference_asr" / "test"
    for unit, counts in (("cer", dict(snt=4, wrd=40, corr=39, sub=1)),
                         ("wer", dict(snt=4, wrd=8, corr=7, sub=1))):
        (reference / f"score_{unit}").mkdir(parents=True)
        (reference / f"score_{unit}" / "summary.json").write_text(json.dumps(counts))
    write_results.main(["tts", str(exp), "--note", "Model: `m.pth`",
                        "--reference_asr_dir", str(tmp_path / "reference_asr")])
    text = (exp / "RESULTS.md").read_text()
    assert text in capsys.readouterr().out
    assert "Model: `m.pth`" in text
    table = text.split("|dataset|")[1].splitlines()
    assert table[0] == "utterances|MCD (dB)|CER (%)|WER (%)|RTF|"
    assert table[2:5] == ["|decode_valid.loss.ave/dev|4|7.50 ± 0.50|-|-|0.500|",
                          "|decode_valid.loss.ave/test|4|6.25 ± 0.50|10.0|25.0|0.500|",
                          "|decode_valid.loss.ave/test (reference audio)|4|-|2.5|12.5|-|"]


def test_results_without_scores_is_an_error(tmp_path, capsys):
    with pytest.raises(SystemExit):
        write_results.main(["tts", str(tmp_path)])
    assert f"write_results: error: no scored set under {tmp_path}" in capsys.readouterr().err
