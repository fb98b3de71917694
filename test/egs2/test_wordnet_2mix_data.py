"""egs2/wordnet_2mix/enh1/local/data.sh: mixtures of a source recipe's data dirs at 8 kHz,
every utterance once, the held-out voices only in test_heldout; a missing source is named."""
import shutil
import subprocess
from pathlib import Path

import soundfile as sf

REPO = Path(__file__).resolve().parents[2]
RECIPE = REPO / "egs2" / "wordnet_2mix" / "enh1"


def table(path: Path) -> dict:
    return dict(line.split(" ", 1) for line in path.read_text().splitlines())


def test_mixtures_of_every_set(tmp_path, make_data_dir, recipe_env):
    source = tmp_path / "source"
    sets = {"train": ("a", "b", "c"), "dev": ("a", "b"), "test_seen": ("a", "c"),
            "test_heldout": ("x", "y")}
    for dset, speakers in sets.items():
        make_data_dir(source / "data" / dset,
                      [(f"{spk}-{dset}{i}", f"WORDS {spk} {i}", 16000, 0.5 + 0.1 * i)
                       for spk in speakers for i in range(2)])
    recipe = tmp_path / "recipe"
    shutil.copytree(RECIPE / "local", recipe / "local")
    proc = subprocess.run(["bash", "local/data.sh", "--source", str(source)], cwd=recipe,
                          env=recipe_env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    for dset, speakers in sets.items():
        n = len(speakers)  # 2 utterances per speaker, each in one mixture
        assert f"data/{dset}: {n} mixtures" in proc.stdout
        utt2spk = table(recipe / "data" / dset / "utt2spk")
        assert len(utt2spk) == n
        for utt, pair in utt2spk.items():
            first, second = pair.split("_")
            assert first != second and {first, second} <= set(speakers)
            assert sf.info(table(recipe / "data" / dset / "wav.scp")[utt]).samplerate == 8000
        texts = [t for i in (1, 2) for t in table(recipe / "data" / dset / f"text_spk{i}").values()]
        assert sorted(texts) == sorted(table(source / "data" / dset / "text").values())


def test_missing_source_corpus_is_named(tmp_path, recipe_env):
    recipe = tmp_path / "recipe"
    shutil.copytree(RECIPE / "local", recipe / "local")
    proc = subprocess.run(["bash", "local/data.sh", "--source", str(tmp_path / "none")],
                          cwd=recipe, env=recipe_env, capture_output=True, text=True)
    assert proc.returncode == 1
    assert f"no {tmp_path / 'none'}/data/train: generate the corpus first" in proc.stderr
