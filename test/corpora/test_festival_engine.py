"""corpora.festival_engine: the festival --batch scripts, blocks, resampling and errors,
against a stand-in ``festival`` program that runs the same Scheme subset (the real
system is a Debian package: test_real_engines.py runs it, ``pytest -m system``); and
Festival voices in make_espeak_corpus (test_flite_engine.py: voices of all three
engines, unknown voices)."""
import re

import numpy as np
import pytest
import soundfile as sf

from espnet_mamba.corpora import festival_engine
from espnet_mamba.corpora.espeak_corpus import speaker_id
from fake_festival import install_fake_festival
from tiny_data import small_corpus


@pytest.fixture
def fake_festival(tmp_path, monkeypatch):
    """The stand-in on PATH; returns its log (one line per call: sentences spoken)."""
    return install_fake_festival(tmp_path, monkeypatch)


def test_synthesize_blocks_resamples_and_keeps_order(tmp_path, fake_festival, monkeypatch):
    monkeypatch.setattr(festival_engine, "BLOCK", 2)
    texts = ["one two", "he'll go", "a", "three four five", "six"]
    speeds = [160, 80, 160, 320, 160]
    jobs = [(t, "kal_diphone", s, tmp_path / f"{i}.wav") for i, (t, s) in enumerate(zip(texts, speeds))]
    seconds = festival_engine.synthesize(jobs, 16000, processes=2)
    assert sorted(int(n) for n in fake_festival.read_text().split()) == [1, 2, 2]
    for (text, _, speed, path), sec in zip(jobs, seconds):
        expected = -(-int(len(text) * 0.05 * (160 / speed) * 32000) // 2)  # at 16 kHz
        audio, rate = sf.read(path)
        assert rate == 16000 and len(audio) == expected and sec == expected / 16000


def test_unknown_voice_missing_program_and_bad_text_are_named(tmp_path, fake_festival,
                                                              monkeypatch):
    festival_engine.check_voices(["festival:kal_diphone", "festival:cmu_us_slt_arctic_hts"])
    with pytest.raises(festival_engine.FestivalError,
                       match="festival has no voice 'festival:nosuch_voice'"):
        festival_engine.check_voices(["festival:kal_diphone", "festival:nosuch_voice"])
    with pytest.raises(festival_engine.FestivalError, match="letters, digits and _"):
        festival_engine.check_voices(["festival:kal)(voice"])
    with pytest.raises(festival_engine.FestivalError, match="letters, apostrophes and spaces"):
        festival_engine.synthesize([('say "hi"', "kal_diphone", 160, tmp_path / "x.wav")],
                                   16000, 1)
    with pytest.raises(festival_engine.FestivalError,
                       match="festival failed on the block starting with 'hello'.*voice_zz"):
        festival_engine.synthesize([("hello", "zz", 160, tmp_path / "x.wav")], 16000, 1)
    assert festival_engine.version() == "Festival 2.5.0"
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    with pytest.raises(festival_engine.FestivalError, match="apt-get install festival"):
        festival_engine.version()


def test_corpus_with_festival_voices(tmp_path, fake_festival):
    small_corpus(tmp_path, ["en-us+m1", "festival:kal_diphone"], ["festival:ked_diphone"])
    utt2spk = dict(line.split() for line in (tmp_path / "data/train/utt2spk").read_text()
                   .splitlines())
    assert sorted(set(utt2spk.values())) == ["en-us-m1", "festival-kal-diphone"]
    assert all(utt.split("_")[0] == spk for utt, spk in utt2spk.items())
    for line in (tmp_path / "data/train/wav.scp").read_text().splitlines():
        utt, path = line.split()
        audio, rate = sf.read(path)
        assert rate == 16000 and len(audio) > 1000
        if utt.startswith("festival"):  # the stand-in's tone, not espeak-ng's speech
            assert np.allclose(audio[:100], 0.5 * np.sin(np.arange(0, 200, 2) * 0.1), atol=0.02)
    note = (tmp_path / "data/test/synthesis").read_text()
    assert re.search(r"engine libespeak-ng [\d.]+ .*; Festival 2\.5\.0\n", note)
    assert "voices en-us+m1 festival:ked_diphone" in note
    assert speaker_id("festival:cmu_us_slt_arctic_hts") == "festival-cmu-us-slt-arctic-hts"

