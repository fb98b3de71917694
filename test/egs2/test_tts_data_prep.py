"""Stage 1 of the TTS recipes: LJSpeech on a fake LJSpeech-1.1 tree, espeak_en's
single-voice corpus, mini AN4 through the ASR recipe's script."""
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

REPO = Path(__file__).resolve().parents[2]
LJSPEECH_DATA = REPO / "egs2" / "ljspeech" / "tts1" / "local" / "data.sh"
ESPEAK_DATA = REPO / "egs2" / "espeak_en" / "tts1" / "local" / "data.sh"
MINI_AN4_DATA = REPO / "egs2" / "mini_an4" / "tts1" / "local" / "data.sh"
MINI_AN4_TARBALL = Path("/work/shared/data/mini_an4_downloads.tar.gz")


def read_table(path: Path) -> dict:
    return dict((line.split(" ", 1) + [""])[:2] for line in path.read_text().splitlines())


def run(script: Path, cwd: Path, *args: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(script), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def write_fake_ljspeech(root: Path, n: int = 8) -> Path:
    """LJSpeech-1.1/ with n short utterances LJ001-0001.. (metadata lines out of order)."""
    corpus = root / "LJSpeech-1.1"
    (corpus / "wavs").mkdir(parents=True)
    lines = []
    for i in range(1, n + 1):
        utt = f"LJ00{1 + i // 5}-{i:04d}"
        sf.write(corpus / "wavs" / f"{utt}.wav", np.zeros(2205, dtype=np.float32), 22050)
        lines.append(f"{utt}|Mr. Smith paid $ {i}.|Mister Smith paid {i} dollars.")
    (corpus / "metadata.csv").write_text("\n".join(lines[::-1]) + "\n")
    return corpus


def test_ljspeech_data_dirs(tmp_path):
    corpus = write_fake_ljspeech(tmp_path / "corpus")
    proc = run(LJSPEECH_DATA, tmp_path, "--num_dev", "2", "--num_eval", "2", str(corpus))
    assert proc.returncode == 0, proc.stderr
    data = tmp_path / "data"
    assert sorted(p.name for p in data.iterdir()) == ["dev", "eval1", "tr_no_dev"]
    ids = ["LJ001-0001", "LJ001-0002", "LJ001-0003", "LJ001-0004", "LJ002-0005",
           "LJ002-0006", "LJ002-0007", "LJ002-0008"]
    for dset, keys in (("tr_no_dev", ids[:4]), ("dev", ids[4:6]), ("eval1", ids[6:])):
        wav_scp = read_table(data / dset / "wav.scp")
        assert list(wav_scp) == keys
        assert wav_scp[keys[0]] == str(corpus / "wavs" / f"{keys[0]}.wav")
        assert set(read_table(data / dset / "utt2spk").values()) == {"LJ"}
        assert read_table(data / dset / "spk2utt") == {"LJ": " ".join(keys)}
    assert read_table(data / "dev" / "text")["LJ002-0006"] == "Mister Smith paid 6 dollars."
    assert not list(tmp_path.glob("data/*.tmp"))
    # default split sizes need more utterances than the fake corpus has
    proc = run(LJSPEECH_DATA, tmp_path, env={"LJSPEECH": str(corpus), "PATH": "/usr/bin:/bin"})
    assert proc.returncode != 0
    assert "8 utterances leave none for training after --num_dev 250 --num_eval 250" in proc.stderr


def test_ljspeech_problems_are_named(tmp_path):
    corpus = write_fake_ljspeech(tmp_path / "corpus")
    (corpus / "wavs" / "LJ001-0003.wav").unlink()
    proc = run(LJSPEECH_DATA, tmp_path, "--num_dev", "1", "--num_eval", "1", str(corpus))
    assert proc.returncode != 0
    assert "1 utterance(s) of" in proc.stderr and "LJ001-0003.wav" in proc.stderr
    assert not (tmp_path / "data" / "tr_no_dev").exists()
    with open(corpus / "metadata.csv", "a") as f:
        f.write("LJ009-0001|no normalized text\n")
    proc = run(LJSPEECH_DATA, tmp_path, str(corpus))
    assert proc.returncode != 0 and "metadata.csv:9: expected id|text|normalized text" in proc.stderr
    proc = run(LJSPEECH_DATA, tmp_path, str(tmp_path / "nowhere"))
    assert proc.returncode != 0
    assert f"LJSpeech metadata not found: {tmp_path / 'nowhere'}/metadata.csv" in proc.stderr
    proc = run(LJSPEECH_DATA, tmp_path, "--num_dev", "x")
    assert proc.returncode != 0 and "--num_dev must be a non-negative integer, got 'x'" in proc.stderr


def test_espeak_en_tts_corpus(tmp_path, recipe_env):
    args = ["--num_train", "4", "--num_dev", "2", "--num_test", "2"]
    proc = run(ESPEAK_DATA, tmp_path, *args, env=recipe_env)
    assert proc.returncode == 0, proc.stderr
    data = tmp_path / "data"
    assert {u.split("_")[0] for d in ("train", "dev", "test")
            for u in read_table(data / d / "text")} == {"en-us-m1"}
    proc = run(ESPEAK_DATA, tmp_path, *args, "--test_seed", "1", env=recipe_env)
    assert proc.returncode == 0, proc.stderr
    seed1 = set(read_table(data / "test_seed1" / "text").values())
    seen = {t for d in ("train", "dev") for t in read_table(data / d / "text").values()}
    assert len(seed1) == 2 and not seed1 & seen
    assert "already generated" in run(ESPEAK_DATA, tmp_path, *args, env=recipe_env).stdout


@pytest.mark.skipif(not MINI_AN4_TARBALL.is_file(), reason="mini AN4 archive not available")
def test_mini_an4_tts_uses_the_asr_data_script(tmp_path):
    assert MINI_AN4_DATA.resolve() == (REPO / "egs2/mini_an4/asr1/local/data.sh").resolve()
    proc = run(MINI_AN4_DATA, tmp_path, str(MINI_AN4_TARBALL))
    assert proc.returncode == 0, proc.stderr
    assert sorted(read_table(tmp_path / "data" / "train_nodev" / "text")) == [
        "an251-fash-b", "an253-fash-b", "cen8-fbbh-b", "cen8-mwhw-b"]
