"""egs2/wordnet_en/tts1/local/data.sh: one voice reading ../asr1's sentences (the same
seed and sizes draw the same ones), subsets of the first N of each set; on a small
database in WordNet's file format."""
import shutil
import subprocess
from pathlib import Path

import soundfile as sf

from espnet_mamba.data.tables import read_table as table
from fake_festival import install_fake_festival
from tiny_data import wordnet_fixture

REPO = Path(__file__).resolve().parents[2]
SIZES = ["--num_train", "12", "--num_dev", "4", "--num_test", "6"]


def in_order(texts: dict) -> list:
    """The sentences by utterance index (``<voice>_tr00012``: 12), whatever the voice."""
    return [texts[u] for u in sorted(texts, key=lambda u: int(u.rsplit("_", 1)[1][2:]))]


def run_data(root: Path, task: str, env: dict, *args: str) -> subprocess.CompletedProcess:
    recipe = root / "egs2" / "wordnet_en" / task
    if not recipe.exists():
        shutil.copytree(REPO / "egs2" / "wordnet_en" / task / "local", recipe / "local")
    return subprocess.run(["bash", "local/data.sh", "--wordnet_dir", str(root / "wn"), *args],
                          cwd=recipe, env=env, capture_output=True, text=True, timeout=600)


def test_tts_corpus_reads_the_asr_corpus_sentences(tmp_path, recipe_env):
    shutil.copytree(REPO / "egs2" / "TEMPLATE" / "lib", tmp_path / "egs2" / "TEMPLATE" / "lib")
    wordnet_fixture(tmp_path / "wn")
    install_fake_festival(tmp_path)
    env = dict(recipe_env, PATH=f"{tmp_path / 'bin'}:{recipe_env['PATH']}")
    asr = run_data(tmp_path, "asr1", env, *SIZES)
    assert asr.returncode == 0, asr.stderr
    tts = run_data(tmp_path, "tts1", env, *SIZES, "--num_tts_train", "5", "--num_tts_dev", "2",
                   "--num_tts_test", "3")
    assert tts.returncode == 0, tts.stderr
    for line in ("data/train: 5 utterances", "data/dev: 2 utterances", "data/test: 3 utterances"):
        assert line in tts.stdout
    asr_data = tmp_path / "egs2/wordnet_en/asr1/data"
    data = tmp_path / "egs2/wordnet_en/tts1/data"
    for dset, asr_set in (("train", "train"), ("dev", "dev"), ("test", "test_seen")):
        texts = table(data / dset / "text")
        assert set(table(data / dset / "utt2spk").values()) == {"en-us-m1"}
        # the first N of the ASR corpus's set, in order, by the one voice
        assert in_order(texts) == in_order(table(asr_data / asr_set / "text"))[:len(texts)]
        spk2utt = (data / dset / "spk2utt").read_text().split()
        assert spk2utt[0] == "en-us-m1" and sorted(spk2utt[1:]) == sorted(texts)
    asr_train = set(table(asr_data / "train" / "text").values())
    assert not set(table(data / "test" / "text").values()) & asr_train  # unseen by the judge
    for path in table(data / "test" / "wav.scp").values():
        assert sf.info(path).samplerate == 16000
    note = (data / "test" / "synthesis").read_text()
    assert "text wordnet: " in note and "en-us+m1" in note

    again = run_data(tmp_path, "tts1", env, *SIZES, "--num_tts_train", "4")
    assert again.returncode == 0, again.stderr
    assert "corpus already generated" in again.stdout and "data/train: 4 utterances" in again.stdout
    bad = run_data(tmp_path, "tts1", env, *SIZES, "--num_tts_train", "0")
    assert bad.returncode == 1 and "--first needs a positive count" in bad.stderr
    unknown = run_data(tmp_path, "tts1", env, "--bogus", "1")
    assert unknown.returncode == 1 and "local/data.sh: unknown option --bogus" in unknown.stderr


def test_run_sh_names_the_asr_experiment_it_lacks(tmp_path):
    """run.sh needs ../asr1's model (default, or --asr_exp DIR) before anything runs."""
    run = REPO / "egs2" / "wordnet_en" / "tts1" / "run.sh"
    for args, message in [([], "no ASR experiment ../asr1/exp/asr_train_asr_conmamba_raw_char"),
                          (["--stage", "2", "--asr_exp", str(tmp_path / "seed1")],
                           f"no ASR experiment {tmp_path / 'seed1'}"),
                          (["--asr_exp"], "--asr_exp needs an experiment dir")]:
        done = subprocess.run(["bash", str(run), *args], cwd=tmp_path, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 1 and message in done.stderr, (args, done.stderr)
