"""The launcher runs unmodified ``espnet2.bin.asr_train`` with a project encoder, the
model is rebuilt from its saved config and decodes; a spawned process finds it too."""
import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tiny_data import write_tiny_asr_set

REPO = Path(__file__).resolve().parents[2]
TINY_CONF = {
    "encoder": "conmamba",
    "encoder_conf": {"output_size": 32, "linear_units": 64, "num_blocks": 2,
                     "cnn_module_kernel": 7, "d_state": 8},
    "decoder": "transformer",
    "decoder_conf": {"attention_heads": 2, "linear_units": 64, "num_blocks": 1},
    "frontend_conf": {"n_fft": 512, "hop_length": 160, "n_mels": 40},
    "normalize": "utterance_mvn",
    "model_conf": {"ctc_weight": 0.3},
    "optim": "adam",
    "optim_conf": {"lr": 0.001},
    "max_epoch": 1,
    "batch_type": "unsorted",
    "batch_size": 2,
    "num_iters_per_epoch": 1,
    "num_workers": 0,
    "seed": 0,
}


def env_with_repo():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    return env


def train(tmp_path: Path, conf: dict) -> subprocess.CompletedProcess:
    data = write_tiny_asr_set(tmp_path / "data")
    config = tmp_path / "train.yaml"
    config.write_text(yaml.safe_dump(conf))
    io = []
    for split in ("train", "valid"):
        io += [f"--{split}_data_path_and_name_and_type", f"{data['wav_scp']},speech,sound",
               f"--{split}_data_path_and_name_and_type", f"{data['text']},text,text",
               f"--{split}_shape_file", str(data["speech_shape"]),
               f"--{split}_shape_file", str(data["text_shape"])]
    cmd = [sys.executable, "-m", "espnet_mamba.run", "-m", "espnet2.bin.asr_train",
           "--config", str(config), "--output_dir", str(tmp_path / "exp"),
           "--token_list", str(data["token_list"]), "--token_type", "char",
           "--use_preprocessor", "true", "--ngpu", "0", *io]
    return subprocess.run(cmd, cwd=tmp_path, env=env_with_repo(), capture_output=True,
                          text=True, timeout=600)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("asr_train")
    proc = train(tmp, TINY_CONF)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return tmp


def test_training_wrote_config_and_checkpoint(trained):
    config = yaml.safe_load((trained / "exp" / "config.yaml").read_text())
    assert config["encoder"] == "conmamba"
    assert (trained / "exp" / "1epoch.pth").is_file()
    assert (trained / "exp" / "valid.loss.best.pth").exists()


def test_model_rebuilt_from_config_decodes(trained):
    import soundfile as sf

    import espnet_mamba  # noqa: F401
    from espnet2.bin.asr_inference import Speech2Text

    from espnet_mamba.asr.encoder.conmamba_encoder import ConMambaEncoder

    s2t = Speech2Text(asr_train_config=str(trained / "exp" / "config.yaml"),
                      asr_model_file=str(trained / "exp" / "1epoch.pth"),
                      beam_size=2, ctc_weight=0.3, maxlenratio=0.5, device="cpu")
    assert isinstance(s2t.asr_model.encoder, ConMambaEncoder)
    audio, _ = sf.read(trained / "data" / "utt000.wav")
    results = s2t(audio)
    text, tokens, token_ids, _ = results[0]
    assert isinstance(text, str) and all(t in {"a", "b", "c", "<unk>"} for t in tokens)


def _build_in_child(config_path: str, queue) -> None:
    from espnet2.tasks.asr import ASRTask

    model, _ = ASRTask.build_model_from_file(config_path, None, "cpu")
    queue.put(type(model.encoder).__name__)


def test_spawned_child_builds_model_from_config(trained):
    """A ``spawn`` child (as DDP and DataLoader workers start) finds the encoder."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = env_with_repo()["PYTHONPATH"]
    try:
        proc = ctx.Process(target=_build_in_child,
                           args=(str(trained / "exp" / "config.yaml"), queue))
        proc.start()
        proc.join(300)
    finally:
        if old is None:
            os.environ.pop("PYTHONPATH")
        else:
            os.environ["PYTHONPATH"] = old
    assert proc.exitcode == 0
    assert queue.get(timeout=5) == "ConMambaEncoder"


def test_unknown_encoder_name_lists_registered_names(tmp_path):
    proc = train(tmp_path, dict(TINY_CONF, encoder="conmambaa"))
    assert proc.returncode != 0
    assert "--encoder must be one of" in proc.stderr
    assert "'conmamba'" in proc.stderr and "'mamba'" in proc.stderr
