"""The espeak-ng 2-speaker mixture corpus (espnet_mamba.bin.make_espeak_mixtures)."""
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from espnet_mamba.bin.make_espeak_mixtures import main
from espnet_mamba.corpora.espeak_corpus import HELD_OUT_VOICES, TRAIN_VOICES
from espnet_mamba.corpora.mixtures import make_plans, mix



def level_db(x: np.ndarray) -> float:
    return 10 * np.log10(np.mean(x.astype(np.float64) ** 2))


def test_mix_sets_the_level_difference_and_sums_exactly():
    rng = np.random.default_rng(0)
    signals = [0.5 * rng.standard_normal(9000), 0.01 * rng.standard_normal(7000)]
    mixture, refs = mix(signals, snr=3.0, mode="min")
    assert mixture.dtype == refs.dtype == np.int16 and refs.shape == (2, 7000)
    np.testing.assert_array_equal(mixture, refs.astype(np.int32).sum(0))
    assert level_db(refs[0]) - level_db(refs[1]) == pytest.approx(3.0, abs=0.01)
    assert np.abs(mixture).max() == pytest.approx(0.9 * 32768, abs=1)


def test_max_mode_pads_the_shorter_source():
    rng = np.random.default_rng(1)
    signals = [rng.standard_normal(5000), rng.standard_normal(8000)]
    mixture, refs = mix(signals, snr=0.0, mode="max")
    assert refs.shape == (2, 8000) and not refs[0, 5000:].any()
    assert level_db(refs[0, :5000]) == pytest.approx(level_db(refs[1]), abs=0.01)
    with pytest.raises(ValueError, match="mode must be one of"):
        mix(signals, snr=0.0, mode="mean")


def test_plans_pair_different_voices_and_hold_out_test_material():
    plans = make_plans(num_train=200, num_dev=20, num_test=40, seed=0, max_snr=5.0)
    assert {name: len(m) for name, m in plans.items()} == {"train": 200, "dev": 20, "test": 40}
    for name, mixtures in plans.items():
        for m in mixtures:
            voices = [s.voice for s in m.sources]
            assert voices[0] != voices[1]
            assert 0.0 <= m.snr <= 5.0 and 150 <= m.sources[0].speed <= 200
            if name == "test":
                assert set(voices) & set(HELD_OUT_VOICES)
            else:
                assert set(voices) <= set(TRAIN_VOICES)
    texts = {name: [s.text for m in mixtures for s in m.sources] for name, mixtures in plans.items()}
    assert len(set(texts["train"])) == 400  # every sentence used once
    assert not set(texts["test"]) & (set(texts["train"]) | set(texts["dev"]))
    assert not set(texts["dev"]) & set(texts["train"])
    # both held-out voices, and held-out pairs with training voices as well
    test_voices = {s.voice for m in plans["test"] for s in m.sources}
    assert set(HELD_OUT_VOICES) <= test_voices and test_voices & set(TRAIN_VOICES)


def test_plans_are_deterministic_and_test_seed_draws_a_new_test_set():
    first = make_plans(num_train=50, num_dev=5, num_test=10, seed=3, max_snr=5.0)
    assert first == make_plans(num_train=50, num_dev=5, num_test=10, seed=3, max_snr=5.0)
    assert first["train"] != make_plans(num_train=50, num_dev=5, num_test=10, seed=4,
                                        max_snr=5.0)["train"]
    other = make_plans(num_train=50, num_dev=5, num_test=10, seed=3, max_snr=5.0,
                       test_seed=7, test_name="test_seed7")
    assert list(other) == ["test_seed7"]
    texts = {s.text for m in other["test_seed7"] for s in m.sources}
    assert texts != {s.text for m in first["test"] for s in m.sources}
    seen = {s.text for name in ("train", "dev") for m in first[name] for s in m.sources}
    assert not texts & seen


def read_table(path: Path) -> dict:
    return dict(line.split(" ", 1) for line in path.read_text().splitlines())


def generate(root: Path, *extra: str) -> Path:
    main(["--out", str(root / "data"), "--wavdir", str(root / "wav"), "--num_train", "2",
          "--num_dev", "1", "--num_test", "2", "--seed", "5", "--jobs", "1", *extra])
    return root / "data"


def test_generated_data_dirs(tmp_path):
    data = generate(tmp_path / "a")
    assert sorted(p.name for p in data.iterdir()) == ["dev", "test", "train"]
    for dset, count in (("train", 2), ("dev", 1), ("test", 2)):
        tables = {name: read_table(data / dset / name) for name in
                  ("wav.scp", "spk1.scp", "spk2.scp", "utt2spk", "text_spk1", "text_spk2")}
        utts = list(tables["wav.scp"])
        assert len(utts) == count and utts == sorted(utts)
        assert all(list(t) == utts for t in tables.values())
        for utt in utts:
            mixture, fs = sf.read(tables["wav.scp"][utt], dtype="int16")
            s1, _ = sf.read(tables["spk1.scp"][utt], dtype="int16")
            s2, _ = sf.read(tables["spk2.scp"][utt], dtype="int16")
            assert fs == 8000 and 1.0 < len(mixture) / fs < 4.0
            np.testing.assert_array_equal(mixture, s1.astype(np.int32) + s2)
            assert tables["utt2spk"][utt] == utt.rsplit("_", 1)[0]  # the voice pair
            assert tables["text_spk1"][utt] != tables["text_spk2"][utt]
        spk2utt = read_table(data / dset / "spk2utt")
        assert sorted(u for line in spk2utt.values() for u in line.split()) == utts
    # the same seed gives the same audio
    again = generate(tmp_path / "b")
    for dset in ("train", "test"):
        for scp in ("wav.scp", "spk2.scp"):
            paths = zip(read_table(data / dset / scp).values(),
                        read_table(again / dset / scp).values())
            for path_a, path_b in paths:
                np.testing.assert_array_equal(sf.read(path_a)[0], sf.read(path_b)[0])
    assert not list(tmp_path.glob("**/*.tmp"))


def test_separate_test_set(tmp_path):
    data = generate(tmp_path, "--test_seed", "9", "--test_name", "test_seed9")
    assert [p.name for p in data.iterdir()] == ["test_seed9"]
    assert len(read_table(data / "test_seed9" / "wav.scp")) == 2


def test_bad_options_are_named(tmp_path):
    with pytest.raises(SystemExit, match="--num_dev must be >= 1, got 0"):
        main(["--out", str(tmp_path), "--wavdir", str(tmp_path), "--num_dev", "0"])
    with pytest.raises(SystemExit, match="--max_snr must be >= 0"):
        main(["--out", str(tmp_path), "--wavdir", str(tmp_path), "--max_snr", "-1"])
