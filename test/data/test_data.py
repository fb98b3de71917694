"""espnet_mamba.data: tables, spk2utt, complete-or-absent output, the audio reader."""
import numpy as np
import pytest
import soundfile as sf

from espnet_mamba.data import (
    DataError,
    atomic_dir,
    atomic_write,
    check_keys,
    read_mono,
    read_table,
    spk2utt,
    write_table,
)


def test_table_round_trip_keeps_empty_values_and_sorts(tmp_path):
    path = tmp_path / "text"
    path.write_text("u2 b c\nu1\n\nu3  x  \n")
    table = read_table(str(path))
    assert table == {"u2": "b c", "u1": "", "u3": "x  "}
    write_table(str(tmp_path / "out"), table)
    assert (tmp_path / "out").read_text() == "u1\nu2 b c\nu3 x\n"


def test_table_errors_name_the_file_and_line(tmp_path):
    path = tmp_path / "wav.scp"
    path.write_text("a 1\nb 2\na 3\n")
    with pytest.raises(DataError, match=f"{path}:3: duplicate key 'a'"):
        read_table(str(path))
    with pytest.raises(DataError, match=r"missing file: .*nowhere \(the hypotheses\)"):
        read_table(str(tmp_path / "nowhere"), "the hypotheses")
    with pytest.raises(DataError, match="2 utterance.s. missing from t.scp: c, d"):
        check_keys(["a", "c", "d"], {"a": "1"}, "t.scp")


def test_spk2utt_groups_sorted_utterances():
    assert spk2utt({"s2-b": "s2", "s1-b": "s1", "s1-a": "s1"}) == {"s1": "s1-a s1-b",
                                                                   "s2": "s2-b"}


def test_atomic_dir_replaces_only_when_complete(tmp_path):
    out = tmp_path / "set"
    with atomic_dir(out) as tmp:
        (tmp / "wav.scp").write_text("new\n")
        assert not out.exists()
    assert (out / "wav.scp").read_text() == "new\n"
    with pytest.raises(KeyboardInterrupt):
        with atomic_dir(out) as tmp:
            (tmp / "wav.scp").write_text("half\n")
            raise KeyboardInterrupt
    assert (out / "wav.scp").read_text() == "new\n"
    assert not (tmp_path / "set.tmp").exists()
    atomic_write(tmp_path / "RESULTS.md", "x")
    assert (tmp_path / "RESULTS.md").read_text() == "x" and not (tmp_path / "RESULTS.md.tmp").exists()


def test_read_mono_checks_channels_and_rate(tmp_path):
    stereo = tmp_path / "st.wav"
    sf.write(stereo, np.full((100, 2), [0.25, -0.5]), 8000, subtype="FLOAT")
    with pytest.raises(DataError, match=f"u1: RIR {stereo} has 2 channels; need mono"):
        read_mono(str(stereo), "RIR", "u1")
    audio, fs = read_mono(str(stereo), channel=1)
    assert fs == 8000 and audio.dtype == np.float64 and np.all(audio == -0.5)
    with pytest.raises(DataError, match="is at 8000 Hz, need 16000 Hz"):
        read_mono(str(stereo), rate=16000, channel=0)
    with pytest.raises(DataError, match="has no channel 2"):
        read_mono(str(stereo), channel=2)
    (tmp_path / "bad.wav").write_bytes(b"RIFF....")
    with pytest.raises(DataError, match="cannot read audio .*bad.wav"):
        read_mono(str(tmp_path / "bad.wav"))
