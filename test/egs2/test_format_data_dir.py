"""Stage 2's formatting: resampling, speed perturbation, filtering and clear errors."""
import numpy as np
import pytest
import soundfile as sf

from espnet_mamba.bin.format_data_dir import main, parse_fs


def read_table(path):
    return dict(line.split(maxsplit=1) for line in path.read_text().splitlines())


def test_parse_fs():
    assert parse_fs("16k") == 16000
    assert parse_fs("22.05k") == 22050
    assert parse_fs("8000") == 8000


def test_resamples_perturbs_and_rewrites_tables(tmp_path, make_data_dir):
    src = make_data_dir(tmp_path / "src", [("s1-a", "a b", 8000, 1.0),
                                           ("s2-b", "b c", 16000, 0.5)])
    out = tmp_path / "out"
    main([str(src), str(out), "--fs", "16k", "--audio_format", "wav", "--nj", "2",
          "--speed_perturb_factors", "0.9", "1.0", "1.1"])

    wav_scp = read_table(out / "wav.scp")
    assert sorted(wav_scp) == ["s1-a", "s2-b", "sp0.9-s1-a", "sp0.9-s2-b",
                               "sp1.1-s1-a", "sp1.1-s2-b"]
    num_samples = read_table(out / "utt2num_samples")
    for utt, path in wav_scp.items():
        info = sf.info(path)
        assert info.samplerate == 16000 and info.channels == 1
        assert int(num_samples[utt]) == info.frames
        assert path.startswith(str(out / "data"))
    # 1 s at 8 kHz becomes 16000 samples; speed 0.9 lasts 1/0.9 times as long
    assert int(num_samples["s1-a"]) == 16000
    assert int(num_samples["sp0.9-s1-a"]) == pytest.approx(16000 / 0.9, abs=1)
    assert int(num_samples["sp1.1-s2-b"]) == pytest.approx(8000 / 1.1, abs=1)
    assert read_table(out / "text")["sp1.1-s1-a"] == "a b"
    assert read_table(out / "utt2spk")["sp0.9-s2-b"] == "sp0.9-s2"
    assert read_table(out / "spk2utt")["s1"] == "s1-a"
    assert not (tmp_path / "out.tmp").exists()


def test_resampled_tone_keeps_its_pitch(tmp_path):
    sr, freq = 8000, 440.0
    t = np.arange(sr) / sr
    (tmp_path / "src").mkdir()
    sf.write(tmp_path / "src" / "u.wav", 0.5 * np.sin(2 * np.pi * freq * t), sr)
    (tmp_path / "src" / "wav.scp").write_text(f"u {tmp_path / 'src' / 'u.wav'}\n")
    (tmp_path / "src" / "text").write_text("u a\n")
    (tmp_path / "src" / "utt2spk").write_text("u u\n")
    main([str(tmp_path / "src"), str(tmp_path / "out"), "--fs", "16000"])
    audio, fs = sf.read(tmp_path / "out" / "data" / "u.flac")
    spectrum = np.abs(np.fft.rfft(audio))
    assert np.fft.rfftfreq(len(audio), 1 / fs)[spectrum.argmax()] == pytest.approx(freq, abs=2)


def test_duration_and_empty_text_filters(tmp_path, make_data_dir):
    src = make_data_dir(tmp_path / "src", [("s-short", "a", 16000, 0.05),
                                           ("s-ok", "b", 16000, 0.5),
                                           ("s-long", "c", 16000, 2.0),
                                           ("s-empty", "", 16000, 0.5)])
    main([str(src), str(tmp_path / "out"), "--min_duration", "0.1", "--max_duration", "1",
          "--drop_empty_text"])
    assert list(read_table(tmp_path / "out" / "wav.scp")) == ["s-ok"]


def test_wrong_rate_without_resampling_is_an_error(tmp_path, make_data_dir, capsys):
    src = make_data_dir(tmp_path / "src", [("s-a", "a", 8000, 0.5)])
    with pytest.raises(SystemExit):
        main([str(src), str(tmp_path / "out"), "--resample", "false"])
    assert "sampled at 8000 Hz, not 16000 Hz" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_missing_audio_file_is_an_error(tmp_path, make_data_dir, capsys):
    src = make_data_dir(tmp_path / "src", [("s-a", "a", 16000, 0.5), ("s-b", "b", 16000, 0.5)])
    (src / "wav" / "s-b.wav").unlink()
    with pytest.raises(SystemExit):
        main([str(src), str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert "1 audio file(s) in wav.scp do not exist" in err and "s-b.wav" in err
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.tmp").exists()


def test_inconsistent_tables_are_an_error(tmp_path, make_data_dir, capsys):
    src = make_data_dir(tmp_path / "src", [("s-a", "a", 16000, 0.5)])
    (src / "text").write_text("s-a a\ns-z z\n")
    with pytest.raises(SystemExit):
        main([str(src), str(tmp_path / "out")])
    assert "missing from" in capsys.readouterr().err


def test_reads_nist_sphere(tmp_path):
    sph = tmp_path / "u.sph"
    sf.write(sph, np.zeros(1600, dtype=np.int16), 16000, format="NIST", subtype="PCM_16")
    for name, line in (("wav.scp", f"u {sph}"), ("text", "u a"), ("utt2spk", "u u")):
        (tmp_path / name).write_text(line + "\n")
    main([str(tmp_path), str(tmp_path / "out")])
    assert sf.info(tmp_path / "out" / "data" / "u.flac").frames == 1600


def write_mix_dir(root, lengths, sr=16000):
    """Mixture and two references per utterance, no text (an enhancement data dir)."""
    (root / "wav").mkdir(parents=True)
    tables = {"wav.scp": [], "spk1.scp": [], "spk2.scp": [], "utt2spk": []}
    for utt, (n_mix, n_ref) in lengths.items():
        for name, n in (("wav", n_mix), ("spk1", n_ref), ("spk2", n_mix)):
            path = root / "wav" / f"{utt}-{name}.wav"
            sf.write(path, np.full(n, 0.1, dtype=np.float32), sr)
            tables[f"{name}.scp"].append(f"{utt} {path}")
        tables["utt2spk"].append(f"{utt} {utt}")
    for name, lines in tables.items():
        (root / name).write_text("\n".join(lines) + "\n")
    return root


def test_extra_scps_are_formatted_alike(tmp_path):
    src = write_mix_dir(tmp_path / "src", {"m1": (16000, 16000), "m2": (8000, 8000),
                                           "m3": (12000, 12000)})
    lines = (src / "spk1.scp").read_text().splitlines()  # another order than wav.scp's
    (src / "spk1.scp").write_text("\n".join(lines[::-1]) + "\n")
    out = tmp_path / "out"
    main([str(src), str(out), "--fs", "8k", "--extra_scps", "spk1.scp", "spk2.scp",
          "--min_duration", "0.6"])
    assert not (out / "text").exists()
    for name, subdir in (("wav.scp", "data"), ("spk1.scp", "data/spk1"), ("spk2.scp", "data/spk2")):
        table = read_table(out / name)
        assert list(table) == ["m1", "m3"]  # m2 (0.5 s) dropped from every table
        for utt, frames in (("m1", 8000), ("m3", 6000)):
            assert table[utt] == str(out / subdir / f"{utt}.flac")
            info = sf.info(table[utt])
            assert info.samplerate == 8000 and info.frames == frames


def test_reference_of_another_length_is_an_error(tmp_path, capsys):
    src = write_mix_dir(tmp_path / "src", {"m1": (16000, 15000)})
    with pytest.raises(SystemExit):
        main([str(src), str(tmp_path / "out"), "--extra_scps", "spk1.scp"])
    assert ("m1: spk1.scp has 15000 samples at the output rate, wav.scp 16000 samples"
            in capsys.readouterr().err)
    assert not (tmp_path / "out").exists()


def test_bad_extra_scp_names_are_errors(tmp_path, capsys):
    src = write_mix_dir(tmp_path / "src", {"m1": (1600, 1600)})
    for name, message in (("spk1", "extra audio table 'spk1'"),
                          ("spk3.scp", f"missing file: {src / 'spk3.scp'}")):
        with pytest.raises(SystemExit):
            main([str(src), str(tmp_path / "out"), "--extra_scps", name])
        assert message in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([str(src), str(tmp_path / "out"), "--drop_empty_text"])
    assert f"dropping empty transcripts needs {src / 'text'}" in capsys.readouterr().err


def test_duration_drops_are_listed_by_id_path_and_reason(tmp_path, make_data_dir, caplog):
    src = make_data_dir(tmp_path / "src", [("s-short", "a", 16000, 0.05),
                                           ("s-ok", "b", 16000, 0.5)])
    main([str(src), str(tmp_path / "out"), "--min_duration", "0.1"])
    listed = (tmp_path / "out" / "dropped_utts.tsv").read_text().splitlines()
    assert listed == ["utt\tpath\treason",
                      f"s-short\t{src / 'wav' / 's-short.wav'}\twav.scp: duration 0.050 s "
                      "is outside 0.1-inf s"]
    assert f"listed in {tmp_path / 'out' / 'dropped_utts.tsv'}" in caplog.text


@pytest.mark.parametrize("fmt", ["wav", "flac", "sph"])
def test_truncated_and_undecodable_audio_is_dropped_and_listed(tmp_path, make_data_dir, fmt):
    """A copy cut short keeps its header: the file must be decoded to the end to notice."""
    src = make_data_dir(tmp_path / "src", [("s-cut", "a", 16000, 1.0), ("s-junk", "b", 16000, 0.5),
                                           ("s-ok", "c", 16000, 0.5)])
    scp = {}
    for utt in ("s-cut", "s-junk", "s-ok"):
        audio, sr = sf.read(src / "wav" / f"{utt}.wav", dtype="int16")
        path = src / "wav" / f"{utt}.{fmt}"
        sf.write(path, audio, sr, format={"sph": "NIST"}.get(fmt, fmt.upper()),
                 subtype="PCM_16")
        scp[utt] = path
    data = scp["s-cut"].read_bytes()
    scp["s-cut"].write_bytes(data[: len(data) // 2])
    scp["s-junk"].write_bytes(b"this is not audio at all" * 40)
    (src / "wav.scp").write_text("".join(f"{u} {p}\n" for u, p in sorted(scp.items())))
    main([str(src), str(tmp_path / "out")])
    assert list(read_table(tmp_path / "out" / "wav.scp")) == ["s-ok"]
    rows = [line.split("\t") for line in
            (tmp_path / "out" / "dropped_utts.tsv").read_text().splitlines()[1:]]
    assert [(utt, path) for utt, path, _ in rows] == [("s-cut", str(scp["s-cut"])),
                                                      ("s-junk", str(scp["s-junk"]))]
    cut, junk = rows[0][2], rows[1][2]
    assert junk.startswith("wav.scp: cannot be decoded")
    assert cut.startswith("wav.scp: truncated: the header says 16000 frames") or (
        fmt == "flac" and cut.startswith("wav.scp: cannot be decoded"))
