"""egs2/TEMPLATE/asr1/asr.sh: all stages on a tiny generated data set (CPU, < 2 min),
re-runs that skip finished work, and failures that stop with a clear message."""
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict

import pytest
import soundfile as sf
import yaml

REPO = Path(__file__).resolve().parents[2]
ASR_SH = REPO / "egs2" / "TEMPLATE" / "asr1" / "asr.sh"
PYTHON = f"{sys.executable} -m espnet_mamba.run"

TINY_ASR = {
    "encoder": "conmamba",
    "encoder_conf": {"output_size": 32, "linear_units": 32, "num_blocks": 1,
                     "cnn_module_kernel": 3, "d_state": 4},
    "decoder": "transformer",
    "decoder_conf": {"attention_heads": 2, "linear_units": 32, "num_blocks": 1},
    "frontend_conf": {"n_fft": 256, "hop_length": 160, "n_mels": 20},
    "model_conf": {"ctc_weight": 0.3},
    "optim": "adam",
    "optim_conf": {"lr": 0.002},
    "max_epoch": 1,
    "batch_type": "folded",
    "batch_size": 4,
    "num_workers": 0,
    "seed": 0,
    "best_model_criterion": [["valid", "acc", "max"]],
    "keep_nbest_models": 1,
}
TINY_DECODE = {"beam_size": 1, "ctc_weight": 0.3, "maxlenratio": 0.3}

# Stand-in for a recipe's local/data.sh: copy the data dirs the test wrote.
DATA_SH = """#!/usr/bin/env bash
set -euo pipefail
mkdir -p data
cp -r "$1"/. data/
"""


def make_recipe(root: Path, make_data_dir) -> Path:
    """A recipe dir with local/data.sh, conf/ and source data (train at 8 kHz)."""
    recipe = root / "recipe"
    (recipe / "local").mkdir(parents=True)
    (recipe / "local" / "data.sh").write_text(DATA_SH)
    (recipe / "local" / "data.sh").chmod(0o755)
    (recipe / "conf").mkdir()
    (recipe / "conf" / "tiny.yaml").write_text(yaml.safe_dump(TINY_ASR))
    (recipe / "conf" / "decode_tiny.yaml").write_text(yaml.safe_dump(TINY_DECODE))
    words = ["ab", "ba", "abc", "cab", "bca"]
    make_data_dir(root / "source" / "train",
                  [(f"s{i % 2}-tr{i}", f"{words[i % 5]} {words[(i + 2) % 5]}", 8000, 0.4 + 0.05 * i)
                   for i in range(6)])
    make_data_dir(root / "source" / "dev", [("s0-dv0", "ab ba", 16000, 0.5)])
    make_data_dir(root / "source" / "test", [("s1-te0", "abc ab", 16000, 0.5),
                                             ("s1-te1", "cab", 22050, 0.6)])
    return recipe


def asr_sh(recipe: Path, env: Dict[str, str], *args: str) -> subprocess.CompletedProcess:
    cmd = ["bash", str(ASR_SH), "--python", PYTHON, "--ngpu", "0", "--nj", "1",
           "--inference_nj", "1", "--token_type", "char", "--train_set", "train",
           "--valid_set", "dev", "--test_sets", "test", "--asr_config", "conf/tiny.yaml",
           "--inference_config", "conf/decode_tiny.yaml", *args]
    return subprocess.run(cmd, cwd=recipe, env=env, capture_output=True, text=True,
                          timeout=300)


def table(path: Path) -> Dict[str, str]:
    return dict((line.split(" ", 1) + [""])[:2] for line in path.read_text().splitlines())


@pytest.fixture(scope="module")
def finished(tmp_path_factory, make_data_dir, recipe_env):
    """One full run (stages 1-8, speed perturbation) and an immediate re-run."""
    root = tmp_path_factory.mktemp("template")
    recipe = make_recipe(root, make_data_dir)
    opts = ["--local_data_opts", str(root / "source"), "--speed_perturb_factors", "0.9 1.0 1.1"]
    first = asr_sh(recipe, recipe_env, *opts)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    start = time.time()
    second = asr_sh(recipe, recipe_env, *opts)
    return {"recipe": recipe, "first": first, "second": second,
            "second_seconds": time.time() - start}


EXP = "exp/asr_tiny_raw_char_sp"
DECODE = f"{EXP}/decode_tiny_asr_model_valid.acc.ave/test"


def test_every_stage_ran_with_banners_and_logs(finished):
    out: str = finished["first"].stdout
    for n in (1, 2, 3, 4, 6, 7, 8):
        assert f"==== Stage {n}:" in out and f"==== Stage {n} finished" in out
    assert "==== Stage 5 (LM training) skipped: --use_lm false" in out
    assert f"log: {EXP}/train.log" in out


def test_formatted_audio_is_16k_and_speed_perturbed(finished):
    recipe = finished["recipe"]
    wav_scp = table(recipe / "dump/raw/train_sp/wav.scp")
    assert len(wav_scp) == 18
    assert {utt.split("-")[0] for utt in wav_scp} == {"s0", "s1", "sp0.9", "sp1.1"}
    for dset in ("train_sp", "dev", "test"):
        for path in table(recipe / f"dump/raw/{dset}/wav.scp").values():
            assert sf.info(recipe / path).samplerate == 16000
    assert (recipe / "dump/raw/test/.done").is_file()
    assert not list(recipe.glob("**/*.tmp"))


def test_token_list_and_stats(finished):
    recipe = finished["recipe"]
    tokens = (recipe / "data/noinfo_token_list/char/tokens.txt").read_text().split()
    assert tokens[:2] == ["<blank>", "<unk>"] and tokens[-1] == "<sos/eos>"
    assert set(tokens[2:-1]) == {"a", "b", "c", "<space>"}
    shapes = table(recipe / "exp/asr_stats_raw_char_sp/train/text_shape.char")
    assert len(shapes) == 18 and all(v.endswith(f",{len(tokens)}") for v in shapes.values())
    assert (recipe / "exp/asr_stats_raw_char_sp/train/feats_stats.npz").is_file()


def test_decoding_scoring_and_results(finished):
    recipe = finished["recipe"]
    assert (recipe / EXP / "valid.acc.ave.pth").exists()
    assert sorted(table(recipe / DECODE / "text")) == ["s1-te0", "s1-te1"]
    result = (recipe / DECODE / "score_wer/result.txt").read_text()
    assert "id: (s1-te0)" in result and "id: (s1-te1)" in result and "Sum/Avg" in result
    results = (recipe / EXP / "RESULTS.md").read_text()
    assert results in finished["second"].stdout  # shown at the end (the re-run rewrote it)
    header = "|dataset|Snt|Wrd|Corr|Sub|Del|Ins|Err|S.Err|"
    for unit, n_tokens in (("WER", 3), ("CER", 9)):
        section = results.split(f"### {unit}")[1]
        lines = section.strip().splitlines()
        assert lines[0] == header
        row = lines[2].split("|")
        assert row[1:4] == ["decode_tiny_asr_model_valid.acc.ave/test", "2", str(n_tokens)]


def test_rerun_skips_finished_steps(finished):
    second = finished["second"]
    assert second.returncode == 0, second.stderr[-3000:]
    out = second.stdout
    assert out.count("already done: skipping") == 8  # 3 formatted sets, tokens, stats, training, decoding, scoring
    assert "==== Stage 8 finished" in out
    assert finished["second_seconds"] < 60


def test_scores_by_speaker_on_request(finished, tmp_path, recipe_env):
    recipe = tmp_path / "recipe"
    shutil.copytree(finished["recipe"], recipe)
    run = asr_sh(recipe, recipe_env, "--stage", "8", "--speed_perturb_factors", "0.9 1.0 1.1",
                 "--score_by_speaker", "true")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "already done" not in run.stdout  # scored before without it: scored again
    by_speaker = json.loads((recipe / DECODE / "by_speaker.json").read_text())
    assert list(by_speaker) == ["s1"] and by_speaker["s1"]["utts"] == 2
    for unit, n_tokens in (("wer", 3), ("cer", 9), ("cer_nospace", 8)):
        assert by_speaker["s1"][unit]["tokens"] == n_tokens
    summary = json.loads((recipe / DECODE / "score_cer/summary.json").read_text())
    assert by_speaker["s1"]["cer"]["errors"] == summary["sub"] + summary["dele"] + summary["ins"]
    assert "speaker  utts    WER    CER  CER without spaces" in run.stdout


def test_bpe_token_list(tmp_path, make_data_dir, recipe_env):
    recipe = make_recipe(tmp_path, make_data_dir)
    (recipe / "data").mkdir()
    make_data_dir(recipe / "data" / "train",
                  [(f"s-{i}", "the cat sat on the mat and the dog ran", 16000, 0.1)
                   for i in range(3)])
    proc = asr_sh(recipe, recipe_env, "--stage", "3", "--stop_stage", "3",
                  "--token_type", "bpe", "--nbpe", "17")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    token_dir = recipe / "data/noinfo_token_list/bpe_unigram17"
    tokens = (token_dir / "tokens.txt").read_text().split()
    assert tokens[:2] == ["<blank>", "<unk>"] and tokens[-1] == "<sos/eos>"
    assert len(tokens) == 17 and "<s>" not in tokens and "</s>" not in tokens
    assert (token_dir / "bpe.model").is_file() and (token_dir / ".done").is_file()


def test_bad_options_are_named(tmp_path, recipe_env):
    proc = asr_sh(tmp_path, recipe_env, "--no_such_option", "1")
    assert proc.returncode != 0 and "unknown option --no_such_option" in proc.stderr
    proc = asr_sh(tmp_path, recipe_env, "--token_type", "word")
    assert proc.returncode != 0 and "--token_type must be bpe or char, got 'word'" in proc.stderr
    proc = asr_sh(tmp_path, recipe_env, "--asr_config", "conf/none.yaml")
    assert proc.returncode != 0 and "ASR config not found: conf/none.yaml" in proc.stderr


def format_stage(recipe: Path, env: Dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return asr_sh(recipe, env, "--stage", "2", "--stop_stage", "2", *args)


def test_failing_stage_stops_with_its_log_path(tmp_path, make_data_dir, recipe_env):
    recipe = make_recipe(tmp_path, make_data_dir)
    (recipe / "data").mkdir()
    for dset in ("train", "dev", "test"):
        make_data_dir(recipe / "data" / dset, [(f"s-{dset}", "ab", 16000, 0.3)])
    (recipe / "data/train/wav/s-train.wav").unlink()
    proc = format_stage(recipe, recipe_env)
    assert proc.returncode != 0
    log = "dump/raw/logs/format_train.log"
    assert f"stage 2 failed; see the log: {log}" in proc.stderr
    assert "audio file(s) in wav.scp do not exist" in (recipe / log).read_text()
    assert not (recipe / "dump/raw/train").exists()


def test_wrong_sample_rate_without_resampling(tmp_path, make_data_dir, recipe_env):
    recipe = make_recipe(tmp_path, make_data_dir)
    (recipe / "data").mkdir()
    for dset, sr in (("train", 8000), ("dev", 16000), ("test", 16000)):
        make_data_dir(recipe / "data" / dset, [(f"s-{dset}", "ab", sr, 0.3)])
    proc = format_stage(recipe, recipe_env, "--resample", "false")
    assert proc.returncode != 0
    assert "sampled at 8000 Hz, not 16000 Hz" in proc.stderr  # the log's tail is shown


def test_unfinished_outputs_are_redone(tmp_path, make_data_dir, recipe_env):
    """What an interrupted run leaves (a .tmp dir, a dir without .done) is not trusted."""
    recipe = make_recipe(tmp_path, make_data_dir)
    (recipe / "data").mkdir()
    for dset in ("train", "dev", "test"):
        make_data_dir(recipe / "data" / dset, [(f"s-{dset}", "ab", 16000, 0.3)])
    (recipe / "dump/raw/test").mkdir(parents=True)
    (recipe / "dump/raw/test/wav.scp").write_text("half written\n")
    (recipe / "dump/raw/dev.tmp").mkdir()
    proc = format_stage(recipe, recipe_env)
    assert proc.returncode == 0, proc.stderr
    assert list(table(recipe / "dump/raw/test/wav.scp")) == ["s-test"]
    assert (recipe / "dump/raw/test/.done").is_file()
    assert not (recipe / "dump/raw/dev.tmp").exists()
    again = format_stage(recipe, recipe_env)
    assert again.stdout.count("already done: skipping") == 3


def test_lm_dirs_of_other_texts_are_refused(tmp_path, recipe_env):
    """The LM stats and LM dirs are named by token type and config, not by the text:
    one made from another --lm_train_text (finished, or a training to resume) is an
    error, not reused."""
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "lm.yaml").write_text("lm: seq_rnn\n")
    tokens = tmp_path / "data/noinfo_token_list/char/tokens.txt"
    tokens.parent.mkdir(parents=True)
    tokens.write_text("<blank>\n<unk>\na\n<sos/eos>\n")
    stats = tmp_path / "exp/lm_stats_char"
    stats.mkdir(parents=True)
    (stats / ".done").touch()
    (stats / "texts").write_text("train data/train/text valid dump/raw/dev/text\n")
    args = ["--stage", "5", "--stop_stage", "5", "--use_lm", "true", "--lm_config",
            "conf/lm.yaml", "--lm_train_text", "data/lm/text"]
    proc = asr_sh(tmp_path, recipe_env, *args)
    assert proc.returncode != 0
    assert ("exp/lm_stats_char was made from other texts (train data/train/text valid "
            "dump/raw/dev/text), not 'train data/lm/text valid dump/raw/dev/text': give "
            "--lm_stats_dir and --lm_tag, or remove it") in proc.stderr
    (stats / "texts").unlink()  # made before the texts were recorded
    proc = asr_sh(tmp_path, recipe_env, *args)
    assert proc.returncode != 0 and "from other texts (not recorded)" in proc.stderr
    lm_exp = tmp_path / "exp/lm_lm_char"
    lm_exp.mkdir(exist_ok=True)  # (the experiment lock made it)
    (lm_exp / "texts").write_text("train data/train/text valid dump/raw/dev/text\n")
    proc = asr_sh(tmp_path, recipe_env, *args, "--lm_stats_dir", "exp/lm_stats_lm")
    assert proc.returncode != 0  # an unfinished training of other texts is not resumed
    assert "exp/lm_lm_char was made from other texts (train data/train/text" in proc.stderr


def test_lm_dir_is_locked_only_by_lm_training(tmp_path, recipe_env):
    """Decoding reads the LM: several ASR models decode with one LM at once, while a
    run that may train the LM (stage 5) still finds it in use."""
    for name, text in (("lm.yaml", "lm: seq_rnn\n"), ("tiny.yaml", "encoder: conmamba\n"),
                       ("decode_tiny.yaml", "beam_size: 1\n")):
        (tmp_path / "conf").mkdir(exist_ok=True)
        (tmp_path / "conf" / name).write_text(text)
    lock = tmp_path / "exp/lm_lm_char/.lock"
    lock.mkdir(parents=True)
    (lock / "pid").write_text(f"{os.getpid()}\n")  # a live run holds it
    args = ["--use_lm", "true", "--lm_config", "conf/lm.yaml", "--stop_stage", "8"]
    proc = asr_sh(tmp_path, recipe_env, "--stage", "8", *args)
    assert proc.returncode != 0 and "in use by another run" not in proc.stderr
    assert "decoding results of 'test'" in proc.stderr  # got past the locks to stage 8
    proc = asr_sh(tmp_path, recipe_env, "--stage", "5", *args)
    assert proc.returncode != 0
    assert f"exp/lm_lm_char is in use by another run: PID {os.getpid()}" in proc.stderr
