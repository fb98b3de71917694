"""Separation scoring (eval.enh, bin.score_enh) and its RESULTS.md, against numbers
computed independently."""
import json
from pathlib import Path
from typing import Dict, Sequence

import numpy as np
import pytest
import soundfile as sf

from espnet_mamba.bin import write_results
from espnet_mamba.bin.score_enh import main
from espnet_mamba.eval.enh import score_utterance, si_snr


def speech_like(fs: int, seconds: float = 3.0, seed: int = 0) -> np.ndarray:
    """A gliding harmonic tone in syllable-like bursts (PESQ and STOI find "speech")."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(fs * seconds)) / fs
    phase = 2 * np.pi * np.cumsum(110 + 15 * seed + 20 * np.sin(2 * np.pi * 0.5 * t)) / fs
    harmonics = sum(np.sin(k * phase) / k for k in range(1, 15))
    bursts = np.clip(np.sin(2 * np.pi * (3 + seed) * t), 0, None)
    return 0.2 * harmonics * bursts + 1e-3 * rng.standard_normal(t.size)


def test_si_snr_matches_the_definition():
    rng = np.random.default_rng(0)
    s = rng.standard_normal(8000)
    s -= s.mean()
    n = rng.standard_normal(8000)
    n -= n.mean()
    n -= (n @ s) / (s @ s) * s  # orthogonal to s: the whole of it is the error
    est = 0.5 * s + n
    expected = 10 * np.log10((0.25 * s @ s) / (n @ n))
    assert si_snr(s[None], est[None])[0] == pytest.approx(expected, abs=1e-6)
    # invariant to the scale and the offset of the estimate
    assert si_snr(s[None], 3 * est[None] + 0.2)[0] == pytest.approx(expected, abs=1e-6)


def test_sdr_of_a_noisy_copy_is_its_snr():
    rng = np.random.default_rng(1)
    refs = rng.standard_normal((2, 64000))
    noise = 0.3 * rng.standard_normal((2, 64000))
    rows = score_utterance(refs.sum(0), refs, refs + noise, 8000, metrics=["SDR"])
    for row, ref, n in zip(rows, refs, noise):
        # bss_eval's 512-tap filter absorbs ~512/64000 of the noise
        assert row["SDR"] == pytest.approx(10 * np.log10(ref @ ref / (n @ n)), abs=0.1)
        assert row["est"] == rows.index(row)


def test_the_mixture_itself_improves_nothing():
    refs = np.stack([speech_like(8000, seed=1), speech_like(8000, seed=2)])
    mix = refs.sum(0)
    rows = score_utterance(mix, refs, np.stack([mix, mix]), 8000, metrics=["SI_SNR", "SDR"])
    for row in rows:
        assert row["SI_SNRi"] == pytest.approx(0, abs=1e-9)
        assert row["SDRi"] == pytest.approx(0, abs=1e-6)


def test_swapped_estimates_get_the_same_scores():
    rng = np.random.default_rng(2)
    refs = np.stack([speech_like(8000, seed=1), speech_like(8000, seed=2)])
    ests = refs + 0.02 * rng.standard_normal(refs.shape) + 0.1 * refs[::-1]
    mix = refs.sum(0)
    rows = score_utterance(mix, refs, ests, 8000)
    swapped = score_utterance(mix, refs, ests[::-1], 8000)
    assert [r["est"] for r in rows] == [0, 1] and [r["est"] for r in swapped] == [1, 0]
    for row, other in zip(rows, swapped):
        for metric in ("SI_SNR", "SI_SNRi", "SDR", "SDRi", "STOI", "PESQ"):
            assert other[metric] == pytest.approx(row[metric], abs=1e-6), metric
        assert row["SI_SNRi"] > 10  # matched to its own reference


@pytest.mark.parametrize("fs, best", [(8000, 4.549), (16000, 4.644)])
def test_pesq_band_follows_the_rate(fs, best):
    """A clean copy gets the top of PESQ's MOS-LQO scale: narrowband (P.862.1) at 8 kHz,
    wideband (P.862.2) at 16 kHz."""
    refs = np.stack([speech_like(fs, seed=1), speech_like(fs, seed=2)])
    ests = refs + 1e-5 * np.random.default_rng(3).standard_normal(refs.shape)
    rows = score_utterance(refs.sum(0), refs, ests, fs, metrics=["STOI", "PESQ"])
    for row in rows:
        assert row["PESQ"] == pytest.approx(best, abs=0.005)
        assert row["STOI"] == pytest.approx(1.0, abs=1e-4)


def write_scps(root: Path, signals: Dict[str, Sequence[np.ndarray]], fs: Dict[str, int]
               ) -> Dict[str, Path]:
    """One scp per name (utterance ids u0, u1, ...), the audio as wav files."""
    scps = {}
    for name, audios in signals.items():
        (root / name).mkdir(parents=True)
        lines = []
        for i, audio in enumerate(audios):
            path = root / name / f"u{i}.wav"
            sf.write(path, audio, fs[name], subtype="FLOAT")
            lines.append(f"u{i} {path}\n")
        scps[name] = root / f"{name}.scp"
        scps[name].write_text("".join(lines))
    return scps


def score_args(scps: Dict[str, Path], out: Path, *extra: str):
    return ["--mix_scp", str(scps["mix"]), "--ref_scp", str(scps["ref1"]),
            "--ref_scp", str(scps["ref2"]), "--inf_scp", str(scps["inf1"]),
            "--inf_scp", str(scps["inf2"]), "--output_dir", str(out), *extra]


def corpus(fs: int = 8000, inf_fs: int = 8000, inf_extra: int = 3, seconds: float = 2.0):
    """Two utterances; the estimates are the references swapped, ``inf_extra`` samples
    longer, with a trace of noise."""
    rng = np.random.default_rng(4)
    refs = [np.stack([speech_like(fs, seconds, seed=1 + u), speech_like(fs, seconds, seed=3 + u)])
            for u in range(2)]
    pad = np.zeros(inf_extra)
    noisy = [r + 1e-5 * rng.standard_normal(r.shape) for r in refs]
    signals = {"mix": [r.sum(0) for r in refs], "ref1": [r[0] for r in refs],
               "ref2": [r[1] for r in refs],
               "inf1": [np.concatenate([r[1], pad]) for r in noisy],
               "inf2": [np.concatenate([r[0], pad]) for r in noisy]}
    rates = {"mix": fs, "ref1": fs, "ref2": fs, "inf1": inf_fs, "inf2": inf_fs}
    return signals, rates


def test_score_and_results_files(tmp_path, capsys):
    scps = write_scps(tmp_path / "data", *corpus())
    exp = tmp_path / "exp"
    main(score_args(scps, exp / "enhanced_test" / "scoring"))
    rows = (exp / "enhanced_test/scoring/per_utterance.tsv").read_text().splitlines()
    assert rows[0] == "utt\tspk\test\tSI_SNR\tSI_SNRi\tSDR\tSDRi\tSTOI\tPESQ"
    # the swapped estimates are matched back; the 3 extra samples were cut off
    assert [r.split("\t")[:3] for r in rows[1:]] == [
        ["u0", "1", "2"], ["u0", "2", "1"], ["u1", "1", "2"], ["u1", "2", "1"]]
    assert all(float(r.split("\t")[3]) > 60 for r in rows[1:])
    summary = json.loads((exp / "enhanced_test/scoring/summary.json").read_text())
    assert summary["utterances"] == 2 and summary["means"]["PESQ"] == pytest.approx(4.549, abs=0.005)
    assert capsys.readouterr().out.startswith("SI_SNR ")

    main(score_args(scps, exp / "enhanced_dev" / "scoring", "--metrics", "STOI"))
    write_results.main(["enh", str(exp)])
    results = (exp / "RESULTS.md").read_text()
    assert results in capsys.readouterr().out
    table = results.split("|dataset|")[1].splitlines()
    assert table[0] == "Snt|SI_SNR|SI_SNRi|SDR|SDRi|STOI|PESQ|"
    assert table[2] == "|enhanced_dev|2|-|-|-|-|1.00|-|"
    assert table[3].startswith("|enhanced_test|2|") and table[3].endswith("|1.00|4.55|")


@pytest.mark.filterwarnings("ignore:Not enough STFT frames")  # pystoi on 0.2 s
@pytest.mark.parametrize("case, message", [
    (dict(inf_fs=16000), "u0: sample rates differ (mixture 8000 Hz, reference 1 8000 Hz, "
                         "estimate 1 16000 Hz"),
    (dict(inf_extra=40), "u0: lengths differ by more than 16 samples (mixture 16000, "
                         "reference 1 16000, estimate 1 16040"),
    (dict(fs=22050, inf_fs=22050), "u0: PESQ needs 8000 or 16000 Hz audio, got 22050 Hz"),
    (dict(seconds=0.2), "u0: PESQ failed (BufferTooShortError): Buffer needs to be at least "
                        "1/4 of a second long"),
])
def test_mismatched_inputs_are_named(tmp_path, capsys, case, message):
    scps = write_scps(tmp_path / "data", *corpus(**case))
    with pytest.raises(SystemExit):
        main(score_args(scps, tmp_path / "out"))
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_missing_estimate_is_named(tmp_path, capsys):
    scps = write_scps(tmp_path / "data", *corpus())
    scps["inf2"].write_text(scps["inf2"].read_text().splitlines()[0] + "\n")
    with pytest.raises(SystemExit):
        main(score_args(scps, tmp_path / "out"))
    assert f"1 utterance(s) missing from {scps['inf2']}: u1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--mix_scp", str(scps["mix"]), "--ref_scp", str(scps["ref1"]),
              "--ref_scp", str(scps["ref2"]), "--inf_scp", str(scps["inf1"]),
              "--output_dir", str(tmp_path / "out")])
    assert "2 reference scp(s) but 1 estimate scp(s)" in capsys.readouterr().err
