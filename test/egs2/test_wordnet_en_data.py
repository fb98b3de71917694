"""egs2/wordnet_en/asr1/local/data.sh: the open-vocabulary corpus and its voice splits,
on a small database in WordNet's file format, with the stand-in festival program (the
real one is a Debian package), and its noisy test sets from the mini AN4 archive; the LM's text beside them."""
import shutil
import subprocess
from pathlib import Path

import pytest
import soundfile as sf

from espnet_mamba.corpora.wordnet_text import oov_rates
from espnet_mamba.corpora.wordnet_text import sentences as wordnet_sentences
from espnet_mamba.data.tables import read_table as table
from fake_festival import install_fake_festival
from tiny_data import wordnet_fixture

REPO = Path(__file__).resolve().parents[2]
RECIPE = REPO / "egs2" / "wordnet_en" / "asr1"
MINI_AN4_TARBALL = Path("/work/shared/data/mini_an4_downloads.tar.gz")
HELD_OUT = ("en-gb-x-gbclan-f5", "en-gb-x-gbcwmd-m6", "festival-ked-diphone")


def run_data(tmp_path: Path, recipe_env, *extra: str) -> subprocess.CompletedProcess:
    recipe = tmp_path / "egs2" / "wordnet_en" / "asr1"
    shutil.copytree(RECIPE / "local", recipe / "local")
    shutil.copytree(REPO / "egs2" / "TEMPLATE" / "lib", tmp_path / "egs2" / "TEMPLATE" / "lib")
    env = dict(recipe_env)
    install_fake_festival(tmp_path)
    env["PATH"] = f"{tmp_path / 'bin'}:{env['PATH']}"
    return subprocess.run(
        ["bash", "local/data.sh", "--num_train", "12", "--num_dev", "3", "--num_test", "6",
         "--wordnet_dir", str(wordnet_fixture(tmp_path / "wn")), *extra],
        cwd=recipe, env=env, capture_output=True, text=True, timeout=600)


def test_open_vocabulary_corpus_and_voice_splits(tmp_path, recipe_env):
    proc = run_data(tmp_path, recipe_env)
    assert proc.returncode == 0, proc.stderr
    data = tmp_path / "egs2" / "wordnet_en" / "asr1" / "data"
    assert "data/test_seen: 3 utterances" in proc.stdout
    assert "data/test_heldout: 3 utterances" in proc.stdout
    train = table(data / "train" / "text")
    speakers = set(table(data / "train" / "utt2spk").values())
    assert {"festival-kal-diphone", "festival-cmu-us-slt-arctic-hts", "en-us-m1"} <= speakers
    assert not speakers & set(HELD_OUT)
    held_out = set(table(data / "test_heldout" / "utt2spk").values())
    assert held_out == set(HELD_OUT)
    assert set(table(data / "test_seen" / "utt2spk").values()) <= speakers
    for dset in ("test_seen", "test_heldout", "dev"):
        assert not set(table(data / dset / "text").values()) & set(train.values())
    note = (data / "test_seen" / "synthesis").read_text()
    assert "text wordnet: " in note and "Festival 2.5.0" in note
    tokens, _ = oov_rates(train.values(), table(data / "test" / "text").values())
    assert f"\noov {tokens:.4f} of the test words are not in the training text" in note
    for path in table(data / "test_heldout" / "wav.scp").values():
        assert sf.info(path).samplerate == 16000
    # the LM's text: every WordNet sentence but the dev and test ones, training ones included
    lm = set(table(data / "lm_train" / "text").values())
    held = set(table(data / "dev" / "text").values()) | set(table(data / "test" / "text").values())
    assert not lm & held and set(train.values()) <= lm
    assert lm | held == set(wordnet_sentences(tmp_path / "wn"))
    again = subprocess.run(["bash", "local/data.sh", "--bogus", "1"], cwd=tmp_path / "egs2" / "wordnet_en" / "asr1",
                           env=recipe_env, capture_output=True, text=True)
    assert again.returncode == 1 and "local/data.sh: unknown option --bogus" in again.stderr


@pytest.mark.skipif(not MINI_AN4_TARBALL.is_file(), reason="mini AN4 archive not available")
def test_noisy_test_sets(tmp_path, recipe_env):
    proc = run_data(tmp_path, recipe_env, "--noisy", str(MINI_AN4_TARBALL))
    assert proc.returncode == 0, proc.stderr
    data = tmp_path / "egs2" / "wordnet_en" / "asr1" / "data"
    for dset in ("test_seen", "test_heldout"):
        assert f"data/{dset}_noisy: 3 utterances" in proc.stdout
        noisy, clean = table(data / f"{dset}_noisy" / "wav.scp"), table(data / dset / "wav.scp")
        assert sorted(noisy) == sorted(clean)
        assert table(data / f"{dset}_noisy" / "text") == table(data / dset / "text")
        for utt in noisy:
            assert sf.info(noisy[utt]).frames == sf.info(clean[utt]).frames
    assert len(table(data / "rirs.scp")) == 2 and len(table(data / "noise.scp")) == 2
