"""espnet_mamba.bin.simulate_noisy: the noisy copies of the enh1 dev/test sets."""
import numpy as np
import pytest
import soundfile as sf

from espnet_mamba.bin.simulate_noisy import main
from espnet_mamba.corpora.noisy import corrupt


def test_corrupt_with_an_impulse_rir_gives_the_asked_snr():
    rng = np.random.default_rng(0)
    speech = rng.standard_normal(4000)
    rir = np.zeros(800)
    rir[0] = 0.5  # direct path only: reverberation is a gain, undone by the power match
    out = corrupt(speech, rir, rng.standard_normal(1000), 7.0, rng, rate=8000)
    np.testing.assert_allclose(out["target"], speech, atol=1e-12)
    np.testing.assert_allclose(out["mix"] - out["noise"], speech, atol=1e-12)
    snr = 10 * np.log10(np.sum(speech ** 2) / np.sum(out["noise"] ** 2))
    assert snr == pytest.approx(7.0, abs=1e-9)


def test_target_keeps_only_early_reflections():
    rng = np.random.default_rng(1)
    speech = np.zeros(2000)
    speech[100] = 1.0
    rir = np.zeros(1000)
    rir[10], rir[300], rir[900] = 1.0, 0.5, 0.25  # direct path, 36 ms, 111 ms at 8 kHz
    out = corrupt(speech, rir, np.ones(50), 100.0, rng, rate=8000)
    target = out["target"] / out["target"][110]
    reverberant = (out["mix"] - out["noise"]) / (out["mix"] - out["noise"])[110]
    assert np.flatnonzero(np.abs(target) > 1e-9).tolist() == [110, 400]
    assert np.flatnonzero(np.abs(reverberant) > 1e-9).tolist() == [110, 400, 1000]
    assert target[400] == pytest.approx(0.5) and reverberant[1000] == pytest.approx(0.25)


def write(path, audio, rate):
    sf.write(path, audio.astype(np.float32), rate)
    return path


def test_main_writes_the_noisy_dir(tmp_path, capsys):
    rng = np.random.default_rng(2)
    src = tmp_path / "test"
    src.mkdir()
    utts = {u: write(tmp_path / f"{u}.wav", 0.1 * rng.standard_normal(3000), 16000)
            for u in ("u1", "u2")}
    (src / "wav.scp").write_text("".join(f"{u} {p}\n" for u, p in utts.items()))
    (src / "utt2spk").write_text("u1 s\nu2 s\n")
    rir = np.zeros(400)
    rir[5] = 1.0
    (tmp_path / "rirs.scp").write_text(f"r1 {write(tmp_path / 'r1.wav', rir, 16000)}\n")
    noise = write(tmp_path / "n1.wav", 0.1 * rng.standard_normal(500), 16000)
    (tmp_path / "noises.scp").write_text(f"n1 {noise}\n")
    args = [str(src), str(tmp_path / "out"), "--rir_scp", str(tmp_path / "rirs.scp"),
            "--noise_scp", str(tmp_path / "noises.scp"), "--wavdir", str(tmp_path / "wav"),
            "--snr_range", "10", "10"]
    main(args)
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["noise1.scp", "spk1.scp", "utt2spk",
                                                    "wav.scp"]
    for utt in utts:
        tables = {name: dict(line.split() for line in (out / name).read_text().splitlines())
                  for name in ("wav.scp", "spk1.scp", "noise1.scp")}
        mix, target, added = (sf.read(tables[n][utt])[0] for n in tables)
        assert len(mix) == 3000
        np.testing.assert_allclose(mix, target + added, atol=3 / 32768)  # 16-bit rounding
        snr = 10 * np.log10(np.sum(target ** 2) / np.sum(added ** 2))
        assert snr == pytest.approx(10.0, abs=0.05)

    write(tmp_path / "r1.wav", rir, 8000)
    for bad_args, message in ((args, f"RIR {tmp_path / 'r1.wav'} is at 8000 Hz, need 16000 Hz"),
                              (args[:-2] + ["12", "3"], "LOW <= HIGH")):
        with pytest.raises(SystemExit):
            main(bad_args)
        assert message in capsys.readouterr().err
