"""corpora.dir_mixtures and bin.mix_data_dir: mixtures of a data dir's utterances, against
the source audio resampled independently."""
import random
from collections import Counter

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import resample_poly

from espnet_mamba.bin import mix_data_dir
from espnet_mamba.corpora.dir_mixtures import pair
from espnet_mamba.data import DataError, read_table


def source_dir(root, speakers=("a", "b", "c"), per_speaker=2):
    """16 kHz tones, a different length and frequency per utterance."""
    (root / "wav").mkdir(parents=True)
    wav, text, utt2spk = [], [], []
    for i, spk in enumerate(s for s in speakers for _ in range(per_speaker)):
        utt = f"{spk}_u{i:02d}"
        t = np.arange(16000 + 1600 * i) / 16000
        sf.write(root / "wav" / f"{utt}.wav", 0.3 * np.sin(2 * np.pi * (200 + 50 * i) * t),
                 16000, subtype="PCM_16")
        wav.append(f"{utt} {root / 'wav' / utt}.wav")
        text.append(f"{utt} SENTENCE NUMBER {i}")
        utt2spk.append(f"{utt} {spk}")
    for name, lines in (("wav.scp", wav), ("text", text), ("utt2spk", utt2spk)):
        (root / name).write_text("\n".join(sorted(lines)) + "\n")
    (root / "synthesis").write_text("text wordnet: test\nseed 3\n")
    return root


def test_pair_uses_each_utterance_once_with_two_speakers():
    utt2spk = {f"u{i}": "abcd"[i % 4] for i in range(40)}
    pairings = pair(utt2spk, random.Random(0), "tr", 5.0)
    assert len(pairings) == 20
    used = Counter(u for _, a, b, _ in pairings for u in (a, b))
    assert set(used.values()) == {1} and len(used) == 40
    for utt, a, b, snr in pairings:
        assert utt2spk[a] != utt2spk[b] and utt.startswith(f"{utt2spk[a]}_{utt2spk[b]}_tr")
        assert 0.0 <= snr <= 5.0
    assert pairings == pair(utt2spk, random.Random(0), "tr", 5.0)
    assert len(pair(utt2spk, random.Random(0), "tr", 5.0, count=7)) == 7
    # as many as the speakers allow: all 6 of a/a/b/b/c/c (greedy pairing in a random
    # order may leave a/a), one of x/x/x/y
    for seed in range(20):
        assert len(pair({f"{s}{i}": s for s in "abc" for i in (1, 2)}, random.Random(seed),
                        "t", 0)) == 3
    assert len(pair({"x1": "x", "x2": "x", "x3": "x", "y1": "y"}, random.Random(0), "t", 0)) == 1
    with pytest.raises(DataError, match="at least two speakers"):
        pair({"x1": "x", "x2": "x"}, random.Random(0), "t", 0)


def test_mixtures_are_the_sum_of_resampled_sources(tmp_path, capsys):
    src = source_dir(tmp_path / "src")
    out = tmp_path / "data" / "test_seen"
    mix_data_dir.main([str(src), str(out), "--wavdir", str(tmp_path / "wav"), "--fs", "8000",
                       "--max_snr", "0", "--seed", "1"])
    assert f"{out}: 3 mixtures" in capsys.readouterr().out
    tables = {n: read_table(str(out / n)) for n in ("wav.scp", "spk1.scp", "spk2.scp",
                                                     "utt2spk", "text_spk1", "text_spk2")}
    src_text, src_wav = read_table(str(src / "text")), read_table(str(src / "wav.scp"))
    assert len(tables["wav.scp"]) == 3
    for utt in tables["wav.scp"]:
        assert "_testseen" in utt
        mixed, fs = sf.read(tables["wav.scp"][utt], dtype="int16")
        refs = [sf.read(tables[f"spk{i}.scp"][utt], dtype="int16")[0] for i in (1, 2)]
        assert fs == 8000 and np.array_equal(mixed, refs[0] + refs[1])
        for i, ref in enumerate(refs, 1):
            source = next(u for u, t in src_text.items() if t == tables[f"text_spk{i}"][utt])
            audio, _ = sf.read(src_wav[source])
            expected = resample_poly(audio, 1, 2)[:len(ref)]
            assert np.corrcoef(expected, ref)[0, 1] > 0.999
        assert len(mixed) == min(len(sf.read(src_wav[u])[0]) for u in src_text
                                 if src_text[u] in (tables["text_spk1"][utt],
                                                    tables["text_spk2"][utt])) // 2
        rms = [np.sqrt(np.mean(r.astype(float) ** 2)) for r in refs]
        assert rms[0] == pytest.approx(rms[1], rel=1e-3)  # --max_snr 0: equal levels
        assert tables["utt2spk"][utt] == utt.rsplit("_", 1)[0]
    note = (out / "synthesis").read_text()
    assert note.startswith("text wordnet: test\nseed 3\nmixtures of ")
    assert "seed 1, fs 8000, max_snr 0.0, mode min" in note


def test_missing_source_audio_is_named(tmp_path, capsys):
    src = source_dir(tmp_path / "src")
    (src / "wav" / "b_u02.wav").unlink()
    with pytest.raises(SystemExit):
        mix_data_dir.main([str(src), str(tmp_path / "data" / "dev"), "--wavdir",
                           str(tmp_path / "wav")])
    err = capsys.readouterr().err
    assert "mix_data_dir: error: b_u02: cannot read source audio" in err
    assert not (tmp_path / "data" / "dev").exists()
