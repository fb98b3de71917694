"""corpora.espeak_corpus and bin.make_espeak_corpus: the single-voice, fixed-prosody options of
the TTS recipe, and the defaults the ASR recipe relies on."""
import random

import pytest
import soundfile as sf

from espnet_mamba.bin import make_espeak_corpus
from espnet_mamba.corpora.espeak_corpus import plan


def table(path):
    return dict(line.split(" ", 1) for line in path.read_text().splitlines())


def test_single_voice_fixed_prosody_corpus(tmp_path, capsys):
    make_espeak_corpus.main(["--out", str(tmp_path / "data"), "--wavdir", str(tmp_path / "wav"),
                             "--num_train", "6", "--num_dev", "2", "--num_test", "3",
                             "--voices", "en-us+m1", "--held_out_voices",
                             "--speed_range", "160", "160", "--pitch_range", "50", "50"])
    assert "test: 3 utterances" in capsys.readouterr().out
    texts = {}
    for dset, prefix, n in (("train", "tr", 6), ("dev", "dv", 2), ("test", "ts", 3)):
        text = table(tmp_path / "data" / dset / "text")
        assert sorted(text) == [f"en-us-m1_{prefix}{i:05d}" for i in range(n)]
        assert set(table(tmp_path / "data" / dset / "utt2spk").values()) == {"en-us-m1"}
        for path in table(tmp_path / "data" / dset / "wav.scp").values():
            info = sf.info(path)
            assert info.samplerate == 16000 and 0.8 < info.duration < 6.0
        texts[dset] = set(text.values())
    assert not texts["test"] & (texts["train"] | texts["dev"])
    assert not texts["dev"] & texts["train"]


def test_fixed_prosody_plan_and_the_default_ranges():
    items = plan(["A", "B", "C"], ["v+1"], "tr", random.Random(0),
                               speed_range=(160, 160), pitch_range=(50, 50))
    assert [item[3:] for item in items] == [(160, 50)] * 3
    assert [item[0] for item in items] == ["v-1_tr00000", "v-1_tr00001", "v-1_tr00002"]
    # the original call (ASR recipe): speeds 130-190, pitches 30-70, drawn in turn
    items = plan(["A", "B"], ["v1", "v2"], "dv", random.Random(3))
    rng = random.Random(3)
    assert [item[2:] for item in items] == [("v1", rng.randint(130, 190), rng.randint(30, 70)),
                                            ("v2", rng.randint(130, 190), rng.randint(30, 70))]


def test_unknown_voice_and_bad_range_are_named(tmp_path, capsys):
    base = ["--out", str(tmp_path / "data"), "--wavdir", str(tmp_path / "wav"),
            "--num_train", "1", "--num_dev", "1", "--num_test", "1"]
    with pytest.raises(SystemExit):
        make_espeak_corpus.main(base + ["--voices", "xx-nowhere"])
    assert "make_espeak_corpus: error: espeak-ng has no voice 'xx-nowhere'" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="--pitch_range must be MIN MAX .* got 60 40"):
        make_espeak_corpus.main(base + ["--pitch_range", "60", "40"])
    assert not (tmp_path / "data").exists()


def test_only_test_respeaks_the_seeds_test_set_with_other_voices(tmp_path, capsys):
    common = ["--num_train", "4", "--num_dev", "1", "--num_test", "4", "--voices", "en-us+m1",
              "--jobs", "1"]
    make_espeak_corpus.main(["--out", str(tmp_path / "full"), "--wavdir", str(tmp_path / "w1"),
                             "--held_out_voices", "en-gb+m3", *common])
    make_espeak_corpus.main(["--out", str(tmp_path / "only"), "--wavdir", str(tmp_path / "w2"),
                             "--held_out_voices", "en-us+f2", "--only_test", *common])
    assert sorted(p.name for p in (tmp_path / "only").iterdir()) == ["test"]
    full, only = table(tmp_path / "full/test/text"), table(tmp_path / "only/test/text")
    # the same sentences in the same places; the held-out half by the other voice
    assert [full[k] for k in sorted(full)] == [only[k] for k in sorted(only)]
    assert sorted(only) == ["en-us-f2_th00000", "en-us-f2_th00001",
                            "en-us-m1_ts00000", "en-us-m1_ts00001"]
    assert "voices en-us+f2 en-us+m1\n" in (tmp_path / "only/test/synthesis").read_text()
