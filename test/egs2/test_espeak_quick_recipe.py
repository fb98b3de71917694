"""The README's main job (egs2/espeak_quick/asr1/run.sh) on a reduced corpus, in a copy of
egs2/: all stages run from a pip install alone, print progress, write RESULTS.md, and
the model beats chance on unseen sentences by seen and unseen voices."""
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from test_mini_an4_recipe import result_rows

REPO = Path(__file__).resolve().parents[2]
EXP = "exp/asr_train_asr_conmamba_ctc_raw_char"
DECODE = "decode_asr_ctc_asr_model_valid.loss.ave"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(tmp_path_factory, recipe_env):
    root = tmp_path_factory.mktemp("espeak_quick")
    outputs = shutil.ignore_patterns("data", "dump", "exp", "downloads")
    for part in ("TEMPLATE/lib", "TEMPLATE/asr1", "espeak_en/asr1", "espeak_quick/asr1"):
        shutil.copytree(REPO / "egs2" / part, root / "egs2" / part, symlinks=True,
                        ignore=outputs)
    recipe = root / "egs2" / "espeak_quick" / "asr1"
    start = time.time()
    proc = subprocess.run(
        ["./run.sh", "--local_data_opts", "--num_train 400 --num_dev 30 --num_test 40",
         "--asr_args", "--max_epoch 6"],
        cwd=recipe, env=recipe_env, capture_output=True, text=True, timeout=1200)
    print(f"reduced main job took {time.time() - start:.0f} s")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return recipe, proc.stdout


def test_every_stage_ran_with_progress_and_the_closing_lines(run):
    recipe, out = run
    for stage in range(1, 9):
        assert f"==== Stage {stage}" in out
    # progress (mid-epoch lines name the batch; a fast machine may finish epochs between polls)
    assert re.search(r"  epoch \d/6(, batch \d+)?.*loss [\d.]+.* elapsed", out)
    assert "data/test_seen: 20 utterances" in out and "data/test_heldout: 20 utterances" in out
    assert f"results: {EXP}/RESULTS.md" in out
    assert "    REF: " in out and "    HYP: " in out
    note = (recipe / "data" / "train" / "synthesis").read_text()
    assert note.startswith("text grammar: ") and "\nengine libespeak-ng " in note


def test_results_beat_chance_on_unseen_sentences_and_voices(run):
    recipe, _ = run
    results = (recipe / EXP / "RESULTS.md").read_text()
    assert "test_heldout is spoken by 2 voices never heard in training" in results
    cer = result_rows(results, "CER")
    for dset in ("test_seen", "test_heldout"):
        snt, chars, *_, err, _ = cer[f"{DECODE}/{dset}"]
        assert int(snt) == 20
        # chance (no output, or random characters) is >= 100% CER
        assert float(err) < 50.0, (dset, err)
