"""ESPnet's own trainer with the Mamba components in 2 processes (torch.distributed, gloo
on the CPU, started by torchrun; ESPnet's env:// initialisation): both ranks finish with
identical parameters, and the losses follow a single-process run with the same global
batch.  Through the launcher and through the installed espnet_mamba.pth."""
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import yaml

from tiny_data import write_tiny_asr_set

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
RANK_PARAMS = str(HERE / "rank_params.py")
# No randomness and nothing that depends on the batch composition: dropout 0, no
# SpecAugment, LayerNorm in the ConMamba convolution module (BatchNorm would see each
# rank's half batch; ESPnet's --sync_batchnorm true handles that on GPUs).
COMMON = {"max_epoch": 2, "batch_type": "unsorted", "batch_size": 4, "num_workers": 0,
          "seed": 0, "optim": "sgd", "optim_conf": {"lr": 0.1}}
ASR_CONF = {
    "encoder": "conmamba",
    "encoder_conf": {"output_size": 32, "linear_units": 64, "num_blocks": 2, "d_state": 8,
                     "cnn_module_kernel": 7, "cnn_module_norm": "layer_norm",
                     "dropout_rate": 0.0},
    "decoder": "mamba",
    "decoder_conf": {"attention_heads": 2, "linear_units": 64, "num_blocks": 1, "d_state": 8,
                     "dropout_rate": 0.0, "src_attention_dropout_rate": 0.0},
    "frontend_conf": {"n_fft": 512, "hop_length": 160, "n_mels": 40},
    "normalize": "utterance_mvn",
    "model_conf": {"ctc_weight": 0.3, "lsm_weight": 0.0},
    **COMMON,
}
ENH_CONF = {
    "encoder": "conv", "encoder_conf": {"channel": 16, "kernel_size": 16, "stride": 8},
    "decoder": "conv", "decoder_conf": {"channel": 16, "kernel_size": 16, "stride": 8},
    "separator": "mamba", "separator_conf": {"d_model": 16, "num_layers": 2, "d_state": 4},
    "criterions": [{"name": "si_snr", "conf": {}, "wrapper": "pit",
                    "wrapper_conf": {"weight": 1.0, "independent_perm": True}}],
    **COMMON,
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def asr_io(root: Path):
    data = write_tiny_asr_set(root / "data", n_utts=8)
    io = ["--token_list", str(data["token_list"]), "--token_type", "char",
          "--use_preprocessor", "true"]
    for split in ("train", "valid"):
        io += [f"--{split}_data_path_and_name_and_type", f"{data['wav_scp']},speech,sound",
               f"--{split}_data_path_and_name_and_type", f"{data['text']},text,text",
               f"--{split}_shape_file", str(data["speech_shape"]),
               f"--{split}_shape_file", str(data["text_shape"])]
    return io


def enh_io(root: Path):
    """8 two-tone mixtures at 8 kHz with their references."""
    rng = np.random.default_rng(0)
    (root / "data").mkdir(parents=True, exist_ok=True)
    tables = {"wav.scp": [], "spk1.scp": [], "spk2.scp": [], "shape": []}
    for i in range(8):
        n = 4000 + 400 * i
        t = np.arange(n) / 8000
        refs = [0.3 * np.sin(2 * np.pi * (200 + 30 * i) * t),
                0.2 * np.sign(np.sin(2 * np.pi * (700 - 20 * i) * t)) + 0.01 * rng.standard_normal(n)]
        for name, audio in (("wav.scp", refs[0] + refs[1]), ("spk1.scp", refs[0]),
                            ("spk2.scp", refs[1])):
            path = root / "data" / f"{name[:-4]}_{i}.wav"
            sf.write(path, audio.astype(np.float32), 8000)
            tables[name].append(f"m{i} {path}")
        tables["shape"].append(f"m{i} {n}")
    for name, lines in tables.items():
        (root / "data" / name).write_text("\n".join(lines) + "\n")
    io = []
    for split in ("train", "valid"):
        for name, key in (("wav.scp", "speech_mix"), ("spk1.scp", "speech_ref1"),
                          ("spk2.scp", "speech_ref2")):
            io += [f"--{split}_data_path_and_name_and_type",
                   f"{root / 'data' / name},{key},sound"]
        io += [f"--{split}_shape_file", str(root / "data" / "shape")]
    return io


def train(root: Path, task: str, conf: dict, io, out: str, ranks: int, launcher: bool):
    (root / f"{task}.yaml").write_text(yaml.safe_dump(conf))
    entry = ["espnet_mamba.run", "-m", f"espnet2.bin.{task}_train"] if launcher else [
        f"espnet2.bin.{task}_train"]
    args = [RANK_PARAMS, *entry, "--config", str(root / f"{task}.yaml"), "--ngpu", "0",
            "--output_dir", str(root / out), *io]
    if ranks > 1:  # ESPnet's external-launcher mode: torchrun sets RANK, WORLD_SIZE, ...
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(ranks),
               "--master_addr", "127.0.0.1", "--master_port", str(free_port()), *args,
               "--multiprocessing_distributed", "false", "--dist_backend", "gloo"]
    else:
        cmd = [sys.executable, *args]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    if launcher:  # a source checkout, as the recipes run it
        env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def losses(log: str):
    """(train loss, valid loss) of every epoch, from ESPnet's 'Nepoch results' lines."""
    found = re.findall(r"(\d+)epoch results: \[train\].*? loss=([-\d.e+]+).*?\[valid\].*? "
                       r"loss=([-\d.e+]+)", log)
    return [(float(t), float(v)) for _, t, v in sorted(found, key=lambda m: int(m[0]))]


def params(path: Path):
    return torch.load(path, map_location="cpu")


def relative_difference(a, b) -> float:
    num = sum(float(((a[k] - b[k]).double() ** 2).sum()) for k in a if a[k].is_floating_point())
    den = sum(float((b[k].double() ** 2).sum()) for k in a if a[k].is_floating_point())
    return (num / den) ** 0.5


@pytest.fixture(scope="module", params=["asr", "enh"])
def runs(request, tmp_path_factory):
    task = request.param
    root = tmp_path_factory.mktemp(task)
    conf, io = (ASR_CONF, asr_io(root)) if task == "asr" else (ENH_CONF, enh_io(root))
    single = train(root, task, conf, io, "single", 1, launcher=True)
    ddp = train(root, task, conf, io, "ddp", 2, launcher=True)
    return task, root, single, ddp, conf, io


def test_both_ranks_finish_with_identical_parameters(runs):
    task, root, _, ddp, _, _ = runs
    assert re.search(r"\[\S+:0/2\]", ddp)  # ESPnet's prefix of rank 0 of 2
    rank0, rank1 = params(root / "ddp" / "params.rank0.pth"), params(root / "ddp" / "params.rank1.pth")
    assert rank0.keys() == rank1.keys()
    assert all(torch.equal(rank0[k], rank1[k]) for k in rank0)
    assert (root / "ddp" / "2epoch.pth").is_file()  # rank 0 wrote the checkpoints
    # espnet_fixes: destroyed before exit (a live gloo group can abort the interpreter's exit)
    for rank in (0, 1):
        assert f"rank {rank}: process group alive after Trainer.run: False" in ddp


def test_losses_follow_a_single_process_run_with_the_same_global_batch(runs):
    """Measured: the losses agree to about 0.1%, the parameters after 4 updates to 1e-4
    (relative norm); the tolerances leave a margin of 10."""
    task, root, single, ddp, _, _ = runs
    curve, curve_ddp = losses(single), losses(ddp)
    assert len(curve) == len(curve_ddp) == 2
    for (t, v), (t2, v2) in zip(curve, curve_ddp):
        assert t2 == pytest.approx(t, rel=1e-2) and v2 == pytest.approx(v, rel=1e-2)
    assert relative_difference(params(root / "ddp" / "params.rank0.pth"),
                               params(root / "single" / "params.ranksingle.pth")) < 1e-3


def test_registration_holds_in_every_rank_through_the_installed_pth(runs):
    """Plain ``espnet2.bin.<task>_train`` in each rank (no launcher): the installed
    espnet_mamba.pth registers the components there."""
    task, root, _, _, conf, io = runs
    log = train(root, task, dict(conf, max_epoch=1), io, "ddp_pth", 2, launcher=False)
    assert log.count("process group alive after Trainer.run: False") == 2
    rank0 = params(root / "ddp_pth" / "params.rank0.pth")
    rank1 = params(root / "ddp_pth" / "params.rank1.pth")
    assert all(torch.equal(rank0[k], rank1[k]) for k in rank0)
