"""corpora.flite_engine: the flite command lines, resampling, voice checks and errors,
against a stand-in ``flite`` program with the real one's interface (Debian's flite is run
by test_real_engines.py, ``pytest -m system``); and Flite voices in
make_espeak_corpus, with Festival's too; both engines' version errors."""
import os
import re
import stat
import sys

import numpy as np
import pytest
import soundfile as sf

from espnet_mamba.bin import make_espeak_corpus
from espnet_mamba.corpora import festival_engine, flite_engine
from espnet_mamba.corpora.espeak_corpus import speaker_id
from fake_festival import install_fake_festival
from tiny_data import small_corpus

# Like flite 2.2: -lv lists the voices, --version prints it and fails, an unknown -voice
# falls back to the default (kal, 8 kHz) without an error; speech is a tone of 0.05 s per
# character times duration_stretch, at the voice's rate.
FAKE = r'''#!PYTHON
import sys, numpy as np, soundfile as sf
args = sys.argv[1:]
if args == ["-lv"]:
    print("Voices available: kal awb_time kal16 awb rms slt ")
    sys.exit(0)
if args == ["--version"]:
    print("  Carnegie Mellon University, Copyright (c) 1999-2016, all rights reserved")
    print("  version: flite-2.2-current Sep 2018 (http://cmuflite.org)")
    sys.exit(1)  # as flite 2.2 does
opts = dict(zip(args[::2], args[1::2]))
stretch = float(opts["--setf"].split("=")[1])
rate = 16000 if opts.get("-voice") in ("awb", "rms", "slt", "kal16") else 8000
n = int(len(opts["-t"]) * 0.05 * stretch * rate)
sf.write(opts["-o"], 0.5 * np.sin(np.arange(n) * 0.1), rate, subtype="PCM_16")
'''


@pytest.fixture
def fake_flite(tmp_path, monkeypatch):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    program = bindir / "flite"
    program.write_text(FAKE.replace("PYTHON", sys.executable))
    program.chmod(program.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")


def test_synthesize_resamples_stretches_and_keeps_order(tmp_path, fake_flite):
    texts, voices, speeds = ["one two", "he'll go", "a b c"], ["awb", "kal", "rms"], [160, 80, 320]
    jobs = [(t, v, s, tmp_path / f"{i}.wav") for i, (t, v, s) in enumerate(zip(texts, voices, speeds))]
    seconds = flite_engine.synthesize(jobs, 16000, processes=2)
    for (text, voice, speed, path), sec in zip(jobs, seconds):
        rate = 8000 if voice == "kal" else 16000
        expected = int(len(text) * 0.05 * (160 / speed) * rate) * 16000 // rate
        audio, fs = sf.read(path)
        assert fs == 16000 and len(audio) == expected and sec == expected / 16000


def test_unknown_voice_missing_program_and_bad_text_are_named(tmp_path, fake_flite,
                                                              monkeypatch):
    assert flite_engine.installed_voices() == ["kal", "awb_time", "kal16", "awb", "rms", "slt"]
    flite_engine.check_voices(["flite:awb", "flite:slt"])
    with pytest.raises(flite_engine.FliteError, match="flite has no voice 'flite:ked'"):
        flite_engine.check_voices(["flite:awb", "flite:ked"])
    with pytest.raises(flite_engine.FliteError, match="letters, apostrophes and spaces"):
        flite_engine.synthesize([("-o /etc/x", "awb", 160, tmp_path / "x.wav")], 16000, 1)
    assert flite_engine.version() == "Flite 2.2"
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    with pytest.raises(flite_engine.FliteError, match="apt-get install flite"):
        flite_engine.version()
    flite_engine.check_voices([])  # no flite voice asked for: flite is not needed


@pytest.mark.parametrize("engine, error", [(festival_engine, festival_engine.FestivalError),
                                           (flite_engine, flite_engine.FliteError)])
def test_a_program_that_prints_no_version_is_named(tmp_path, monkeypatch, engine, error):
    """Something else installed under the engine's name: its version is an error, not a guess."""
    program = tmp_path / engine.PROGRAM
    program.write_text(f"#!/bin/sh\necho 'usage: {engine.PROGRAM} [options]'\n")
    program.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(error, match=f"{engine.PROGRAM} --version printed no version: usage: "):
        engine.version()


def test_corpus_with_voices_of_three_engines(tmp_path, fake_flite, monkeypatch):
    install_fake_festival(tmp_path / "festival", monkeypatch)
    small_corpus(tmp_path, ["en-us+m1", "festival:kal_diphone", "flite:awb"], ["flite:rms"],
                 num_train=6)
    wav = dict(line.split() for line in (tmp_path / "data/train/wav.scp").read_text()
               .splitlines())
    speakers = {utt.split("_")[0] for utt in wav}
    assert speakers == {"en-us-m1", "festival-kal-diphone", "flite-awb"}
    tone = {"festival": 0.5 * np.sin(np.arange(0, 200, 2) * 0.1),  # 32 kHz, resampled
            "flite": 0.5 * np.sin(np.arange(100) * 0.1)}  # 16 kHz as made
    for utt, path in wav.items():
        audio, rate = sf.read(path)
        assert rate == 16000 and len(audio) > 1000
        engine = utt.split("-")[0]
        if engine in tone:  # the stand-ins' tones, not espeak-ng's speech
            assert np.allclose(audio[:100], tone[engine], atol=0.02), utt
    note = (tmp_path / "data/train/synthesis").read_text()
    assert re.search(r"engine libespeak-ng [\d.]+ .*; Festival 2\.5\.0; Flite 2\.2\n", note)
    assert "voices en-us+m1 festival:kal_diphone flite:awb\n" in note
    assert "voices en-us+m1 flite:rms\n" in (tmp_path / "data/test/synthesis").read_text()
    assert speaker_id("flite:awb") == "flite-awb"


@pytest.mark.parametrize("voice", ["festival:nosuch", "flite:nosuch"])
def test_unknown_voice_stops_the_corpus(voice, tmp_path, fake_flite, monkeypatch, capsys):
    install_fake_festival(tmp_path / "festival", monkeypatch)
    with pytest.raises(SystemExit):
        make_espeak_corpus.main(["--out", str(tmp_path / "data"), "--wavdir",
                                 str(tmp_path / "wav"), "--voices", "en-us+m1", voice])
    assert f"has no voice '{voice}'" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()

