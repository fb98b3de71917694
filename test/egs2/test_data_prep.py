"""Stage 1 of the recipes: mini AN4 on the real archive, LibriSpeech on a fake tree."""
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

REPO = Path(__file__).resolve().parents[2]
MINI_AN4_DATA = REPO / "egs2" / "mini_an4" / "asr1" / "local" / "data.sh"
LIBRISPEECH_DATA = REPO / "egs2" / "librispeech_100" / "asr1" / "local" / "data.sh"
MINI_AN4_TARBALL = Path("/work/shared/data/mini_an4_downloads.tar.gz")


def read_table(path: Path) -> dict:
    return dict((line.split(" ", 1) + [""])[:2] for line in path.read_text().splitlines())


def run(script: Path, cwd: Path, *args: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(script), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(not MINI_AN4_TARBALL.is_file(), reason="mini AN4 archive not available")
def test_mini_an4_data_dirs(tmp_path):
    proc = run(MINI_AN4_DATA, tmp_path, str(MINI_AN4_TARBALL))
    assert proc.returncode == 0, proc.stderr
    assert "skipping cen7-fash-b: no transcript" in proc.stdout
    data = tmp_path / "data"
    assert sorted(p.name for p in data.iterdir()) == ["test", "train", "train_dev",
                                                      "train_nodev"]
    train = read_table(data / "train" / "text")
    assert train == {"an152-mwhw-b": "START", "an251-fash-b": "YES", "an253-fash-b": "GO",
                     "cen8-fbbh-b": "MARCH THIRD NINETEEN TWENTY EIGHT",
                     "cen8-mwhw-b": "ELEVEN SEVENTEEN FIFTY ONE"}
    assert read_table(data / "test" / "text") == {
        "cen8-fcaw-b": "ELEVEN TWENTY SEVEN FIFTY SEVEN",
        "cen8-mmxg-b": "OCTOBER TWENTY FOUR NINETEEN SEVENTY"}
    assert list(read_table(data / "train_dev" / "text")) == ["an152-mwhw-b"]
    assert sorted(read_table(data / "train_nodev" / "text")) == sorted(set(train) - {"an152-mwhw-b"})
    for dset in ("train_nodev", "train_dev", "test"):
        wav_scp = read_table(data / dset / "wav.scp")
        assert list(wav_scp) == sorted(wav_scp) == sorted(read_table(data / dset / "utt2spk"))
        for utt, path in wav_scp.items():
            assert sf.info(path).samplerate == 16000 and path.endswith(f"/{utt}.sph")
    assert read_table(data / "train" / "utt2spk")["an251-fash-b"] == "fash"
    assert read_table(data / "train" / "spk2utt")["fash"] == "an251-fash-b an253-fash-b"
    assert not list(tmp_path.glob("**/*.tmp"))
    # a rerun reuses the unpacked archive and rewrites the same dirs
    assert run(MINI_AN4_DATA, tmp_path, str(MINI_AN4_TARBALL)).returncode == 0
    assert read_table(data / "train" / "text") == train


def test_mini_an4_missing_archive_is_named(tmp_path):
    proc = run(MINI_AN4_DATA, tmp_path, str(tmp_path / "nowhere.tar.gz"))
    assert proc.returncode != 0
    assert f"mini AN4 archive not found: {tmp_path / 'nowhere.tar.gz'}" in proc.stderr


def write_fake_librispeech(root: Path) -> None:
    """Two chapters of two utterances per subset (distinct speakers per subset)."""
    subsets = ["train-clean-100", "dev-clean", "dev-other", "test-clean", "test-other"]
    for s, subset in enumerate(subsets):
        for spk, chapter in ((f"{s + 1}9", "198"), (f"{s + 1}03", "1240")):
            chapter_dir = root / "LibriSpeech" / subset / spk / chapter
            chapter_dir.mkdir(parents=True)
            lines = []
            for u in range(2):
                utt = f"{spk}-{chapter}-{u:04d}"
                sf.write(chapter_dir / f"{utt}.flac", np.zeros(1600, dtype=np.float32), 16000)
                lines.append(f"{utt} HE SAID {subset.upper()} {u}")
            (chapter_dir / f"{spk}-{chapter}.trans.txt").write_text("\n".join(lines) + "\n")


def test_librispeech_data_dirs(tmp_path, recipe_env):
    write_fake_librispeech(tmp_path / "corpus")
    proc = run(LIBRISPEECH_DATA, tmp_path, env=dict(recipe_env, LIBRISPEECH=str(tmp_path / "corpus")))
    assert proc.returncode == 0, proc.stderr
    data = tmp_path / "data"
    assert sorted(p.name for p in data.iterdir()) == [
        "dev", "dev_clean", "dev_other", "test_clean", "test_other", "train_clean_100"]
    wav_scp = read_table(data / "train_clean_100" / "wav.scp")
    assert list(wav_scp) == ["103-1240-0000", "103-1240-0001", "19-198-0000", "19-198-0001"]
    assert wav_scp["19-198-0001"] == str(
        tmp_path / "corpus/LibriSpeech/train-clean-100/19/198/19-198-0001.flac")
    assert read_table(data / "train_clean_100" / "text")["19-198-0001"] == \
        "HE SAID TRAIN-CLEAN-100 1"
    assert read_table(data / "train_clean_100" / "utt2spk")["19-198-0001"] == "19-198"
    assert read_table(data / "train_clean_100" / "spk2utt")["19-198"] == \
        "19-198-0000 19-198-0001"
    dev = read_table(data / "dev" / "text")
    assert len(dev) == 8
    assert set(dev) == set(read_table(data / "dev_clean" / "text")) | set(
        read_table(data / "dev_other" / "text"))


def test_librispeech_missing_audio_and_subset_are_named(tmp_path, recipe_env):
    write_fake_librispeech(tmp_path / "corpus")
    (tmp_path / "corpus/LibriSpeech/test-other/59/198/59-198-0001.flac").unlink()
    proc = run(LIBRISPEECH_DATA, tmp_path, str(tmp_path / "corpus"))
    assert proc.returncode != 0
    assert "1 transcribed utterance(s) of" in proc.stderr and "59-198-0001.flac" in proc.stderr
    assert not (tmp_path / "data" / "test_other").exists()

    proc = run(LIBRISPEECH_DATA, tmp_path, str(tmp_path / "elsewhere"))
    assert proc.returncode != 0
    assert f"missing {tmp_path / 'elsewhere'}/LibriSpeech/train-clean-100" in proc.stderr
