"""egs2/TEMPLATE/tts1/tts.sh: all stages on a tiny generated data set with a tiny Mamba
TTS, transcription by a tiny (untrained) ESPnet ASR model of another recipe dir, re-runs
that skip finished work, and bad options that stop with a clear message."""
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict

import numpy as np
import pytest
import soundfile as sf
import yaml

REPO = Path(__file__).resolve().parents[2]
TTS_SH = REPO / "egs2" / "TEMPLATE" / "tts1" / "tts.sh"
PYTHON = f"{sys.executable} -m espnet_mamba.run"

TINY_TTS = {
    "feats_extract": "fbank",
    "feats_extract_conf": {"n_fft": 256, "hop_length": 128, "n_mels": 20, "fmin": 0,
                           "fmax": 8000},
    "normalize": "global_mvn",
    "tts": "mamba_tts",
    "tts_conf": {"adim": 16, "num_blocks": 1, "d_state": 4, "dprenet_units": 16,
                 "postnet_layers": 1, "postnet_units": 16, "reduction_factor": 2},
    "optim": "adam",
    "optim_conf": {"lr": 0.002},
    "max_epoch": 1,
    "batch_type": "sorted",
    "batch_size": 2,
    "num_workers": 0,
    "seed": 0,
    "best_model_criterion": [["valid", "loss", "min"]],
    "keep_nbest_models": 1,
}
TINY_FASTSPEECH = dict(TINY_TTS, tts="mamba_fastspeech",
                       tts_conf={"adim": 16, "encoder_blocks": 1, "decoder_blocks": 1,
                                 "d_state": 4, "duration_predictor_chans": 8,
                                 "postnet_layers": 1, "postnet_units": 16})


TINY_ASR = {
    "encoder": "conmamba",
    "encoder_conf": {"output_size": 16, "linear_units": 16, "num_blocks": 1,
                     "cnn_module_kernel": 3, "d_state": 4},
    "decoder": "transformer",
    "decoder_conf": {"attention_heads": 2, "linear_units": 16, "num_blocks": 1},
    "frontend_conf": {"n_fft": 256, "hop_length": 160, "n_mels": 20},
    "model_conf": {"ctc_weight": 0.3},
}
ASR_DECODE = {"beam_size": 1, "ctc_weight": 0.3, "maxlenratio": 0.3}
TOKENS = ["<blank>", "<unk>", "a", "b", "c", "<space>", "<sos/eos>"]

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
    (recipe / "conf" / "tiny.yaml").write_text(yaml.safe_dump(TINY_TTS))
    # threshold only reaches ESPnet's own AR models: tts.sh warns for mamba_tts
    (recipe / "conf" / "decode_tiny.yaml").write_text("threshold: 0.5\n")
    words = ["ab", "ba", "abc", "cab", "bca"]
    make_data_dir(root / "source" / "train",
                  [(f"s0-tr{i}", f"{words[i % 5]} {words[(i + 2) % 5]}", 8000, 0.4 + 0.05 * i)
                   for i in range(6)])
    make_data_dir(root / "source" / "dev", [("s0-dv0", "ab ba", 16000, 0.5)])
    make_data_dir(root / "source" / "test", [("s0-te0", "abc ab", 16000, 0.5),
                                             ("s0-te1", "cab", 22050, 0.6)])
    return recipe


def make_asr_model(root: Path) -> Path:
    """An untrained tiny ASR model as training leaves it: <root>/exp/asr_tiny/config.yaml
    naming its stats file relative to <root> (as ESPnet recipes do), and model.pth."""
    import torch
    from espnet2.tasks.asr import ASRTask

    exp = root / "exp" / "asr_tiny"
    (root / "exp" / "asr_stats").mkdir(parents=True)
    exp.mkdir()
    np.savez(root / "exp" / "asr_stats" / "feats_stats.npz", count=np.array(10.0),
             sum=np.zeros(20), sum_square=np.full(20, 10.0))
    (exp / "train.yaml").write_text(yaml.safe_dump(TINY_ASR))
    (exp / "tokens.txt").write_text("\n".join(TOKENS) + "\n")
    cwd = os.getcwd()
    os.chdir(root)
    try:
        args = ASRTask.get_parser().parse_args([
            "--config", str(exp / "train.yaml"), "--token_list", str(exp / "tokens.txt"),
            "--token_type", "char",
            "--normalize", "global_mvn",
            "--normalize_conf", "stats_file=exp/asr_stats/feats_stats.npz"])
        torch.manual_seed(0)
        model = ASRTask.build_model(args)  # makes token_list a list, as training does
    finally:
        os.chdir(cwd)
    torch.save(model.state_dict(), exp / "model.pth")
    (exp / "config.yaml").write_text(yaml.safe_dump(vars(args)))
    (root / "decode_asr.yaml").write_text(yaml.safe_dump(ASR_DECODE))
    return exp


def tts_sh(recipe: Path, env: Dict[str, str], *args: str) -> subprocess.CompletedProcess:
    cmd = ["bash", str(TTS_SH), "--python", PYTHON, "--ngpu", "0", "--nj", "1",
           "--inference_nj", "1", "--train_set", "train", "--valid_set", "dev",
           "--test_sets", "test", "--train_config", "conf/tiny.yaml",
           "--inference_config", "conf/decode_tiny.yaml", "--griffin_lim_iters", "4", *args]
    return subprocess.run(cmd, cwd=recipe, env=env, capture_output=True, text=True,
                          timeout=600)


def table(path: Path) -> Dict[str, str]:
    return dict((line.split(" ", 1) + [""])[:2] for line in path.read_text().splitlines())


@pytest.fixture(scope="module")
def finished(tmp_path_factory, make_data_dir, recipe_env):
    """One full run (stages 1-7, with ASR) and an immediate re-run."""
    root = tmp_path_factory.mktemp("tts_template")
    recipe = make_recipe(root, make_data_dir)
    asr_exp = make_asr_model(root / "asr_recipe")
    opts = ["--local_data_opts", str(root / "source"), "--asr_model_dir", str(asr_exp),
            "--asr_model_file", "model.pth",
            "--asr_inference_config", str(root / "asr_recipe" / "decode_asr.yaml")]
    first = tts_sh(recipe, recipe_env, *opts)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    start = time.time()
    second = tts_sh(recipe, recipe_env, *opts)
    return {"recipe": recipe, "first": first, "second": second,
            "second_seconds": time.time() - start}


EXP = "exp/tts_tiny_raw_char"
DECODE = f"{EXP}/decode_tiny_valid.loss.ave_griffin_lim4"


@pytest.mark.slow
def test_every_stage_ran_with_banners_and_logs(finished):
    out: str = finished["first"].stdout
    for n in range(1, 8):
        assert f"==== Stage {n}:" in out and f"==== Stage {n} finished" in out
    assert f"log: {EXP}/train.log" in out
    assert "WARNING: espnet2.bin.tts_inference passes threshold" in out
    assert "'mamba_tts' uses its own defaults" in out


@pytest.mark.slow
def test_formatted_audio_tokens_and_stats(finished):
    recipe = finished["recipe"]
    for dset, n in (("train", 6), ("dev", 1), ("test", 2)):
        wav_scp = table(recipe / f"dump/raw/{dset}/wav.scp")
        assert len(wav_scp) == n
        assert all(sf.info(recipe / p).samplerate == 16000 for p in wav_scp.values())
    tokens = (recipe / "data/noinfo_token_list/char/tokens.txt").read_text().split()
    assert tokens[:2] == ["<blank>", "<unk>"] and tokens[-1] == "<sos/eos>"
    assert set(tokens[2:-1]) == {"a", "b", "c", "<space>"}
    shapes = table(recipe / "exp/tts_stats_raw_char/train/text_shape.char")
    assert len(shapes) == 6 and all(v.endswith(f",{len(tokens)}") for v in shapes.values())
    stats = np.load(recipe / "exp/tts_stats_raw_char/train/feats_stats.npz")
    assert stats["sum"].shape == (20,)
    config = yaml.safe_load((recipe / EXP / "config.yaml").read_text())
    assert config["feats_extract_conf"]["fs"] == "16k"
    assert config["normalize_conf"]["stats_file"].endswith("tts_stats_raw_char/train/feats_stats.npz")
    assert not list(recipe.glob("**/*.tmp"))


@pytest.mark.slow
def test_decoding_writes_mel_and_wav_with_final_paths(finished):
    recipe = finished["recipe"]
    dec = recipe / DECODE / "test"
    wav_scp = table(dec / "wav.scp")
    assert sorted(wav_scp) == ["s0-te0", "s0-te1"]
    shapes = table(dec / "speech_shape")
    for utt, path in wav_scp.items():
        assert path == f"{DECODE}/test/wav/{utt}.wav"
        info = sf.info(recipe / path)
        frames = int(shapes[utt].split(",")[0])
        assert info.samplerate == 16000 and frames % 2 == 0  # reduction factor 2
        assert info.frames == pytest.approx(frames * 128, abs=256)
    for sub in ("norm", "denorm"):
        feats = table(dec / sub / "feats.scp")
        assert sorted(feats) == ["s0-te0", "s0-te1"]
        for utt, path in feats.items():
            assert path == f"{DECODE}/test/{sub}/{utt}.npy"
            assert np.load(recipe / path).shape == (int(shapes[utt].split(",")[0]), 20)


@pytest.mark.slow
def test_scoring_mcd_asr_and_results(finished):
    recipe = finished["recipe"]
    dec = recipe / DECODE / "test"
    mcd = {u: float(v) for u, v in table(dec / "score_mcd/utt2mcd").items()}
    assert sorted(mcd) == ["s0-te0", "s0-te1"] and all(math.isfinite(v) and v > 0 for v in mcd.values())
    summary = json.loads((dec / "score_mcd/summary.json").read_text())
    assert summary["mcd_mean"] == pytest.approx(np.mean(list(mcd.values())), abs=1e-3)
    # the synthesized speech and the reference recordings
    reference = recipe / "exp/reference_asr_asr_tiny_model/test"
    for asr in (dec / "asr", reference):
        assert sorted(table(asr / "text")) == ["s0-te0", "s0-te1"]
        assert table(asr / "ref_text") == {"s0-te0": "abc ab", "s0-te1": "cab"}
        assert "Sum/Avg" in (asr / "score_cer/result.txt").read_text()
        assert not (asr / "input").exists()  # the resampled copies are removed
    assert sorted(p.name for p in (reference / "logs").glob("asr_inference.*.log")) == \
        ["asr_inference.1.log"]
    results = (recipe / EXP / "RESULTS.md").read_text()
    assert results in finished["second"].stdout  # shown at the end (the re-run rewrote it)
    assert f"ASR: `{finished['recipe'].parent / 'asr_recipe/exp/asr_tiny/model.pth'}`" in results
    tag = DECODE.rsplit("/", 1)[1]
    row = [line for line in results.splitlines() if line.startswith(f"|{tag}/test|")][0].split("|")
    assert row[2] == "2" and row[3] == f"{summary['mcd_mean']:.2f} ± {summary['mcd_std']:.2f}"
    cer = json.loads((dec / "asr/score_cer/summary.json").read_text())
    assert cer["wrd"] == 9  # "abc ab" and "cab": 9 characters with the space
    assert float(row[4]) >= 0 and float(row[5]) >= 0 and float(row[6]) > 0  # CER, WER, RTF
    assert f"|{tag}/test (reference audio)|2|-|" in results


@pytest.mark.slow
def test_rerun_skips_finished_steps(finished):
    second = finished["second"]
    assert second.returncode == 0, second.stderr[-3000:]
    # 3 formatted sets, tokens, stats, training, decoding, MCD, 2 x ASR
    assert second.stdout.count("already done: skipping") == 10
    assert "==== Stage 7 finished" in second.stdout
    assert finished["second_seconds"] < 60


def test_bad_options_are_named(tmp_path, recipe_env):
    cases = [
        (["--no_such_option", "1"], "unknown option --no_such_option"),
        (["--token_type", "word"], "--token_type must be char or phn, got 'word'"),
        (["--token_type", "phn"], "--token_type phn needs --g2p"),
        (["--train_config", "conf/none.yaml"], "training config not found: conf/none.yaml"),
        (["--feats_normalize", "utterance_mvn"], "--feats_normalize must be global_mvn or none"),
        (["--stage", "7", "--asr_model_dir", str(tmp_path)],
         f"--asr_model_dir {tmp_path}: no config.yaml there"),
        (["--stage", "4", "--train_config", "conf/tiny_fs.yaml", "--durations_asr_exp",
          str(tmp_path)], f"--durations_asr_exp {tmp_path}: no config.yaml there"),
        (["--stage", "4", "--train_config", "conf/tiny_fs.yaml", "--durations_asr_exp",
          str(tmp_path / "asr"), "--durations_asr_model", "4epoch.pth"],
         f"aligning ASR model not found: {tmp_path / 'asr'}/4epoch.pth (--durations_asr_model)"),
    ]
    (tmp_path / "asr").mkdir()
    (tmp_path / "asr" / "config.yaml").write_text("{}\n")
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "tiny.yaml").write_text(yaml.safe_dump(TINY_TTS))
    (tmp_path / "conf" / "tiny_fs.yaml").write_text(yaml.safe_dump(TINY_FASTSPEECH))
    (tmp_path / "conf" / "decode_tiny.yaml").write_text("threshold: 0.5\n")
    for args, message in cases:
        proc = tts_sh(tmp_path, recipe_env, *args)
        assert proc.returncode != 0 and message in proc.stderr, (args, proc.stderr)


def test_decoding_without_a_model_names_the_stage(tmp_path, recipe_env):
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "tiny.yaml").write_text(yaml.safe_dump(TINY_TTS))
    (tmp_path / "conf" / "decode_tiny.yaml").write_text("threshold: 0.5\n")
    proc = tts_sh(tmp_path, recipe_env, "--stage", "6")
    assert proc.returncode != 0
    assert f"missing {EXP}/valid.loss.ave.pth (the model to decode with: finish stage 5" in proc.stderr


@pytest.mark.slow
def test_fastspeech_trains_on_durations_aligned_by_an_asr_model(tmp_path, make_data_dir,
                                                                 recipe_env):
    recipe = make_recipe(tmp_path, make_data_dir)
    (recipe / "conf" / "tiny_fs.yaml").write_text(yaml.safe_dump(TINY_FASTSPEECH))
    (recipe / "conf" / "decode_fs.yaml").write_text("use_teacher_forcing: false\n")
    asr_exp = make_asr_model(tmp_path / "asr_recipe")
    proc = tts_sh(recipe, recipe_env, "--local_data_opts", str(tmp_path / "source"),
                  "--stop_stage", "6", "--train_config", "conf/tiny_fs.yaml",
                  "--inference_config", "conf/decode_fs.yaml",
                  "--durations_asr_exp", str(asr_exp), "--durations_asr_model", "model.pth")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert f"teacher durations of train: CTC alignment with {asr_exp}" in proc.stdout
    for dset, n in (("train", 6), ("dev", 1)):
        durations = table(recipe / f"dump/raw/{dset}/durations")
        text, wav_scp = table(recipe / f"dump/raw/{dset}/text"), table(recipe / f"dump/raw/{dset}/wav.scp")
        assert sorted(durations) == sorted(text) and len(durations) == n
        for utt, line in durations.items():
            ds = [int(d) for d in line.split()]
            assert len(ds) == len(text[utt]) + 1  # characters (space included) and eos
            assert sum(ds) == 1 + sf.info(recipe / wav_scp[utt]).frames // 128
    exp = recipe / "exp/tts_tiny_fs_raw_char"
    train_log = (exp / "train.log").read_text()
    assert "duration_loss=" in train_log
    config = yaml.safe_load((exp / "config.yaml").read_text())
    assert [p[1] for p in config["train_data_path_and_name_and_type"]] == \
        ["text", "speech", "durations"]
    dec = exp / "decode_fs_valid.loss.ave_griffin_lim4" / "test"
    assert sorted(table(dec / "wav.scp")) == ["s0-te0", "s0-te1"]
    assert "WARNING: espnet2.bin.tts_inference passes" not in proc.stdout
    # an autoregressive model learns its own alignment: the option is not used for it
    proc = tts_sh(recipe, recipe_env, "--stage", "4", "--stop_stage", "5",
                  "--durations_asr_exp", str(asr_exp), "--durations_asr_model", "model.pth")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert ("--durations_asr_exp: tts 'mamba_tts' of conf/tiny.yaml takes no teacher durations;"
            " not used") in proc.stdout
    config = yaml.safe_load((recipe / "exp/tts_tiny_raw_char/config.yaml").read_text())
    assert [p[1] for p in config["train_data_path_and_name_and_type"]] == ["text", "speech"]
