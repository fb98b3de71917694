"""egs2/TEMPLATE/enh1/enh.sh: stages 1-6 on tiny generated mixtures (CPU, about a minute:
mostly the start-up of ESPnet's three processes), re-runs that skip finished work, and bad
options or inputs that stop with a clear message."""
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Sequence, Tuple

import numpy as np
import pytest
import soundfile as sf
import yaml

REPO = Path(__file__).resolve().parents[2]
ENH_SH = REPO / "egs2" / "TEMPLATE" / "enh1" / "enh.sh"
PYTHON = f"{sys.executable} -m espnet_mamba.run"

TINY_ENH = {
    "encoder": "conv",
    "encoder_conf": {"channel": 16, "kernel_size": 16, "stride": 8},
    "decoder": "conv",
    "decoder_conf": {"channel": 16, "kernel_size": 16, "stride": 8},
    "separator": "mamba",
    "separator_conf": {"num_spk": 2, "d_model": 16, "num_layers": 1, "d_state": 4},
    "criterions": [{"name": "si_snr", "conf": {"clamp_db": 40}, "wrapper": "pit",
                    "wrapper_conf": {"weight": 1.0, "independent_perm": True}}],
    "optim": "adam",
    "optim_conf": {"lr": 0.001},
    "max_epoch": 1,
    "batch_type": "folded",
    "batch_size": 2,
    "num_workers": 0,
    "seed": 0,
    "best_model_criterion": [["valid", "loss", "min"]],
    "keep_nbest_models": 1,
}

# Stand-in for a recipe's local/data.sh: copy the data dirs the test wrote.
DATA_SH = """#!/usr/bin/env bash
set -euo pipefail
mkdir -p data
cp -r "$1"/. data/
"""

# (utterance id, sampling rate, seconds)
Mix = Tuple[str, int, float]


def write_mix_dir(root: Path, mixes: Sequence[Mix]) -> Path:
    """A 2-speaker data dir: two tones per mixture, mixture = their sum."""
    (root / "wav").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(len(mixes))
    tables: Dict[str, list] = {"wav.scp": [], "spk1.scp": [], "spk2.scp": [], "utt2spk": []}
    for i, (utt, sr, seconds) in enumerate(mixes):
        t = np.arange(int(sr * seconds)) / sr
        refs = [0.3 * np.sin(2 * np.pi * (200 + 30 * i) * t),
                0.2 * np.sign(np.sin(2 * np.pi * (520 + 50 * i) * t))]
        refs = [r + 0.005 * rng.standard_normal(t.size) for r in refs]
        for name, audio in (("wav", refs[0] + refs[1]), ("spk1", refs[0]), ("spk2", refs[1])):
            path = root / "wav" / f"{utt}_{name}.wav"
            sf.write(path, audio.astype(np.float32), sr)
            tables[f"{name}.scp"].append(f"{utt} {path}")
        tables["utt2spk"].append(f"{utt} {utt}")
    for name, lines in tables.items():
        (root / name).write_text("\n".join(sorted(lines)) + "\n")
    return root


def make_recipe(root: Path) -> Path:
    """A recipe dir with local/data.sh, conf/ and source data (test set at 16 kHz)."""
    recipe = root / "recipe"
    (recipe / "local").mkdir(parents=True)
    (recipe / "local" / "data.sh").write_text(DATA_SH)
    (recipe / "local" / "data.sh").chmod(0o755)
    (recipe / "conf").mkdir()
    (recipe / "conf" / "tiny.yaml").write_text(yaml.safe_dump(TINY_ENH))
    write_mix_dir(root / "source" / "train", [(f"tr{i}", 8000, 0.5) for i in range(4)])
    write_mix_dir(root / "source" / "dev", [("dv0", 8000, 0.5), ("dv1", 8000, 0.4)])
    write_mix_dir(root / "source" / "test", [("te0", 16000, 0.5), ("te1", 16000, 0.6)])
    return recipe


def enh_sh(recipe: Path, env: Dict[str, str], *args: str) -> subprocess.CompletedProcess:
    cmd = ["bash", str(ENH_SH), "--python", PYTHON, "--ngpu", "0", "--nj", "1",
           "--inference_nj", "1", "--fs", "8k", "--train_set", "train", "--valid_set", "dev",
           "--test_sets", "test", "--enh_config", "conf/tiny.yaml", *args]
    return subprocess.run(cmd, cwd=recipe, env=env, capture_output=True, text=True,
                          timeout=300)


def table(path: Path) -> Dict[str, str]:
    return dict((line.split(" ", 1) + [""])[:2] for line in path.read_text().splitlines())


EXP = "exp/enh_tiny_raw"
SEPARATED = f"{EXP}/enhanced_test"


@pytest.fixture(scope="module")
def finished(tmp_path_factory, recipe_env):
    """One full run (stages 1-6) and an immediate re-run."""
    root = tmp_path_factory.mktemp("enh_template")
    recipe = make_recipe(root)
    opts = ["--local_data_opts", str(root / "source")]
    first = enh_sh(recipe, recipe_env, *opts)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    start = time.time()
    second = enh_sh(recipe, recipe_env, *opts)
    return {"recipe": recipe, "first": first, "second": second,
            "second_seconds": time.time() - start}


@pytest.mark.slow
def test_every_stage_ran_with_banners_and_logs(finished):
    out: str = finished["first"].stdout
    for n in range(1, 7):
        assert f"==== Stage {n}:" in out and f"==== Stage {n} finished" in out
    assert f"log: {EXP}/train.log" in out


@pytest.mark.slow
def test_mixtures_and_references_formatted_at_8k(finished):
    recipe = finished["recipe"]
    for dset, n_samples in (("train", 4000), ("test", 4000)):
        tables = {scp: table(recipe / f"dump/raw/{dset}/{scp}")
                  for scp in ("wav.scp", "spk1.scp", "spk2.scp")}
        assert all(sorted(t) == sorted(tables["wav.scp"]) for t in tables.values())
        for scp, paths in tables.items():
            info = sf.info(recipe / paths[min(paths)])
            assert info.samplerate == 8000 and info.frames == n_samples, (dset, scp)
    # the 16 kHz test mixtures were resampled with their references: still their sum
    paths = {scp: recipe / table(recipe / f"dump/raw/test/{scp}")["te1"]
             for scp in ("wav.scp", "spk1.scp", "spk2.scp")}
    mix, s1, s2 = (sf.read(p)[0] for p in paths.values())
    assert len(mix) == 4800
    np.testing.assert_allclose(mix, s1 + s2, atol=3e-4)
    assert not list(recipe.glob("**/*.tmp"))


@pytest.mark.slow
def test_stats_training_and_separation(finished):
    recipe = finished["recipe"]
    shapes = table(recipe / "exp/enh_stats_8k/train/speech_mix_shape")
    assert shapes == {f"tr{i}": "4000" for i in range(4)}
    assert (recipe / EXP / "valid.loss.ave.pth").exists()
    for spk in (1, 2):
        separated = table(recipe / SEPARATED / f"spk{spk}.scp")
        assert sorted(separated) == ["te0", "te1"]
        for utt, path in separated.items():
            assert ".tmp" not in path  # the paths point into the final dir
            info = sf.info(path)
            assert info.samplerate == 8000
            assert info.frames == {"te0": 4000, "te1": 4800}[utt]


@pytest.mark.slow
def test_scoring_and_results(finished):
    recipe = finished["recipe"]
    rows = (recipe / SEPARATED / "scoring/per_utterance.tsv").read_text().splitlines()
    assert rows[0].split("\t") == ["utt", "spk", "est", "SI_SNR", "SI_SNRi", "SDR", "SDRi",
                                   "STOI", "PESQ"]
    assert [r.split("\t")[:2] for r in rows[1:]] == [["te0", "1"], ["te0", "2"],
                                                     ["te1", "1"], ["te1", "2"]]
    results = (recipe / EXP / "RESULTS.md").read_text()
    assert results in finished["second"].stdout  # shown at the end (the re-run rewrote it)
    lines = results.split("|dataset|")[1].splitlines()
    assert lines[0] == "Snt|SI_SNR|SI_SNRi|SDR|SDRi|STOI|PESQ|"
    assert lines[2].startswith("|enhanced_test|2|")


@pytest.mark.slow
def test_rerun_skips_finished_steps(finished):
    second = finished["second"]
    assert second.returncode == 0, second.stderr[-3000:]
    out = second.stdout
    assert out.count("already done: skipping") == 7  # 3 formatted sets, stats, training, separation, scoring
    assert "==== Stage 6 finished" in out
    assert finished["second_seconds"] < 60


def test_bad_options_are_named(tmp_path, recipe_env):
    cases = [(["--no_such_option", "1"], "unknown option --no_such_option"),
             (["--ref_num", "0"], "--ref_num must be an integer >= 1, got '0'"),
             (["--use_noise_ref", "yes"], "--use_noise_ref must be true or false, got 'yes'"),
             (["--scoring_metrics", "SI_SNR PESQ2"], "unknown metric 'PESQ2'"),
             (["--fs", "8kHz"], "--fs must be a sampling rate such as 8k or 16000, got '8kHz'"),
             (["--enh_config", "conf/none.yaml"], "enhancement config not found: conf/none.yaml"),
             (["--test_sets", ""], "--test_sets is required")]
    for args, message in cases:
        proc = enh_sh(tmp_path, recipe_env, *args)
        assert proc.returncode != 0 and message in proc.stderr, (args, proc.stderr)


def test_reference_of_other_length_stops_formatting(tmp_path, recipe_env):
    recipe = make_recipe(tmp_path)
    (recipe / "data").mkdir()
    for dset in ("train", "dev", "test"):
        write_mix_dir(recipe / "data" / dset, [(f"{dset}0", 8000, 0.3)])
    spk2 = table(recipe / "data/dev/spk2.scp")["dev0"]
    sf.write(spk2, np.zeros(2000, dtype=np.float32), 8000)
    proc = enh_sh(recipe, recipe_env, "--stage", "2", "--stop_stage", "2")
    assert proc.returncode != 0
    log = "dump/raw/logs/format_dev.log"
    assert f"stage 2 failed; see the log: {log}" in proc.stderr
    assert "dev0: spk2.scp has 2000 samples at the output rate, wav.scp 2400 samples" in \
        (recipe / log).read_text()
    assert not (recipe / "dump/raw/dev").exists()


def test_missing_reference_table_is_named(tmp_path, recipe_env):
    recipe = make_recipe(tmp_path)
    (recipe / "data").mkdir()
    for dset in ("train", "dev", "test"):
        write_mix_dir(recipe / "data" / dset, [(f"{dset}0", 8000, 0.3)])
    proc = enh_sh(recipe, recipe_env, "--stage", "2", "--stop_stage", "2", "--ref_num", "3")
    assert proc.returncode != 0
    assert "missing file: data/train/spk3.scp" in proc.stderr  # the log's tail is shown


def test_noise_references_are_formatted_for_training(tmp_path, recipe_env):
    recipe = make_recipe(tmp_path)
    (recipe / "data").mkdir()
    for dset in ("train", "dev", "test"):
        root = write_mix_dir(recipe / "data" / dset, [(f"{dset}0", 16000, 0.3)])
        (root / "noise1.scp").write_text((root / "spk2.scp").read_text())
    proc = enh_sh(recipe, recipe_env, "--stage", "2", "--stop_stage", "2",
                  "--use_noise_ref", "true")
    assert proc.returncode == 0, proc.stderr
    for dset, has_noise in (("train", True), ("dev", True), ("test", False)):
        out = recipe / "dump/raw" / dset
        assert (out / "noise1.scp").exists() == has_noise
        if has_noise:
            assert sf.info(recipe / table(out / "noise1.scp")[f"{dset}0"]).samplerate == 8000
