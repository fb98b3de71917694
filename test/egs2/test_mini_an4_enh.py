"""The mini AN4 enhancement recipe end to end (``./run.sh``), in a copy of egs2/:
noisy, reverberant dev/test sets made once, training corrupted on the fly, every stage
through to the scores."""
import csv
import shutil
import subprocess
from pathlib import Path

import pytest
import soundfile as sf

REPO = Path(__file__).resolve().parents[2]
MINI_AN4_TARBALL = Path("/work/shared/data/mini_an4_downloads.tar.gz")
EXP = "exp/enh_train_enh_debug_raw"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not MINI_AN4_TARBALL.is_file(), reason="mini AN4 archive not available"),
]


@pytest.fixture(scope="module")
def recipe(tmp_path_factory, recipe_env):
    root = tmp_path_factory.mktemp("mini_an4_enh")
    outputs = shutil.ignore_patterns("data", "dump", "exp", "downloads")
    for part in ("TEMPLATE/lib", "TEMPLATE/enh1", "mini_an4/enh1", "mini_an4/asr1"):
        shutil.copytree(REPO / "egs2" / part, root / "egs2" / part, symlinks=True,
                        ignore=outputs)
    recipe = root / "egs2" / "mini_an4" / "enh1"
    proc = subprocess.run(["./run.sh", "--an4", str(MINI_AN4_TARBALL)], cwd=recipe,
                          env=recipe_env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return recipe


def read_scp(path: Path) -> dict:
    return dict(line.split() for line in path.read_text().splitlines())


def test_data_sets(recipe):
    data = recipe / "data"
    assert read_scp(data / "train_nodev" / "spk1.scp") == read_scp(data / "train_nodev" / "wav.scp")
    assert len(read_scp(data / "rirs.scp")) == 2 and len(read_scp(data / "noises.scp")) == 2
    for dset, count in (("train_dev", 1), ("test", 2)):
        noisy, clean = read_scp(data / dset / "wav.scp"), read_scp(data / dset / "spk1.scp")
        assert len(noisy) == count and noisy.keys() == clean.keys()
        for utt in noisy:
            assert sf.info(noisy[utt]).frames == sf.info(clean[utt]).frames


def test_separated_and_scored(recipe):
    exp = recipe / EXP
    assert (exp / "valid.loss.ave.pth").is_file()
    scores = list(csv.DictReader((exp / "enhanced_test" / "scoring" / "per_utterance.tsv")
                                 .open(), delimiter="\t"))
    assert sorted(row["utt"] for row in scores) == ["cen8-fcaw-b", "cen8-mmxg-b"]
    for row in scores:
        # The mixture's SI-SNR (score minus improvement): 5-15 dB SNR noise plus reverberation.
        mixture = float(row["SI_SNR"]) - float(row["SI_SNRi"])
        assert 0.0 < mixture < 15.0
        assert 0.0 < float(row["STOI"]) <= 1.0 and 1.0 <= float(row["PESQ"]) <= 4.6
    results = (exp / "RESULTS.md").read_text()
    assert "|dataset|Snt|SI_SNR|SI_SNRi|SDR|SDRi|STOI|PESQ|" in results
    assert "|enhanced_test|2|" in results
