"""The mini AN4 recipe end to end (``./run.sh``), in a copy of egs2/ so the working tree
stays clean; then stage 5 onwards again with the debug LM."""
import shutil
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MINI_AN4_TARBALL = Path("/work/shared/data/mini_an4_downloads.tar.gz")
EXP = "exp/asr_train_asr_debug_raw_char"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not MINI_AN4_TARBALL.is_file(), reason="mini AN4 archive not available"),
]


def copy_recipe(dst: Path) -> Path:
    """egs2/TEMPLATE/{lib,asr1} and egs2/mini_an4/asr1 (sources only), symlinks kept."""
    outputs = shutil.ignore_patterns("data", "dump", "exp", "downloads")
    for part in ("TEMPLATE/lib", "TEMPLATE/asr1", "mini_an4/asr1"):
        shutil.copytree(REPO / "egs2" / part, dst / "egs2" / part, symlinks=True,
                        ignore=outputs)
    return dst / "egs2" / "mini_an4" / "asr1"


def run_sh(recipe: Path, env, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["./run.sh", "--an4", str(MINI_AN4_TARBALL), *args], cwd=recipe,
                          env=env, capture_output=True, text=True, timeout=900)


def result_rows(results: str, unit: str) -> dict:
    """dataset -> cells of the ``### unit`` table of a RESULTS.md."""
    section = results.split(f"### {unit}\n")[1].split("###")[0]
    rows = [line.split("|")[1:-1] for line in section.strip().splitlines()[2:]]
    return {row[0]: row[1:] for row in rows}


@pytest.fixture(scope="module")
def recipe(tmp_path_factory, recipe_env):
    recipe = copy_recipe(tmp_path_factory.mktemp("mini_an4"))
    start = time.time()
    proc = run_sh(recipe, recipe_env)
    print(f"mini_an4 ./run.sh took {time.time() - start:.0f} s")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return recipe


def test_run_sh_writes_results_with_wer_and_cer(recipe):
    results = (recipe / EXP / "RESULTS.md").read_text()
    decode = "decode_asr_asr_model_valid.acc.ave/test"
    # 2 test utterances: 10 words, 67 characters (spaces counted)
    wer = result_rows(results, "WER")[decode]
    cer = result_rows(results, "CER")[decode]
    assert wer[:2] == ["2", "10"] and cer[:2] == ["2", "67"]
    for cells in (wer, cer):
        corr, sub, dele, ins, err, _ = map(float, cells[2:])
        assert corr + sub + dele == pytest.approx(100.0, abs=0.2)
        assert err == pytest.approx(sub + dele + ins, abs=0.2)
    assert (recipe / EXP / decode / "score_wer" / "result.txt").is_file()


def test_run_sh_with_lm_adds_a_decoding(recipe, recipe_env):
    proc = run_sh(recipe, recipe_env, "--stage", "5", "--use_lm", "true")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert (recipe / "exp/lm_train_lm_debug_char/valid.loss.ave.pth").exists()
    rows = result_rows((recipe / EXP / "RESULTS.md").read_text(), "WER")
    with_lm = ("decode_asr_lm_lm_train_lm_debug_char_valid.loss.ave"
               "_asr_model_valid.acc.ave/test")
    assert rows[with_lm][:2] == ["2", "10"]
    assert "decode_asr_asr_model_valid.acc.ave/test" in rows
