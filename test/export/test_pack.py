"""Packed models: espnet2.bin.pack through espnet_mamba.bin.pack_model for asr, enh and
tts models; the zip loads in a fresh process with ESPnet's own inference classes and
gives the same outputs; a Hugging Face repo dir with a model card."""
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import yaml

from espnet_mamba.bin import pack_model
from espnet_mamba.export.pack import PackError
from tiny_models import (
    SR,
    build_enh,
    build_model,
    tone_utterance,
    train_briefly,
    tts_task_config,
)

FRESH = """
import json, sys
import numpy as np, soundfile as sf, torch
from espnet2.main_funcs.pack_funcs import unpack
task, packed, out, data = sys.argv[1:5]
files = unpack(packed, out)
if task == "asr":
    from espnet2.bin.asr_inference import Speech2Text
    model = Speech2Text(**files, ctc_weight=1.0, beam_size=2, nbest=1)
    speech, _ = sf.read(data, dtype="float32")
    result = model(speech)[0][0]
elif task == "enh":
    from espnet2.bin.enh_inference import SeparateSpeech
    model = SeparateSpeech(**files, normalize_output_wav=False)
    speech, _ = sf.read(data, dtype="float32")
    result = [w.tolist() for w in model(speech[None], fs=8000)]
else:
    from espnet2.bin.tts_inference import Text2Speech
    model = Text2Speech(**files, seed=3)
    result = model(data, decode_conf={"threshold": 2.0, "maxlenratio": 3.0})["feat_gen"].tolist()
print(json.dumps(result))
"""


def fresh_process(tmp_path: Path, task: str, packed: Path, data: str):
    """Unpack and run in a new interpreter started in another dir (the .pth registers)."""
    cwd = tmp_path / "elsewhere"
    cwd.mkdir(exist_ok=True)
    done = subprocess.run([sys.executable, "-c", FRESH, task, str(packed),
                           str(tmp_path / "unpacked"), data], cwd=cwd,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def relative_stats(root: Path) -> None:
    """Make the config name its statistics relative to ``root``, as recipes do."""
    config = yaml.safe_load((root / "config.yaml").read_text())
    config["normalize_conf"]["stats_file"] = "feats_stats.npz"
    (root / "config.yaml").write_text(yaml.safe_dump(config))


def pack(root: Path, task: str, **extra) -> Path:
    argv = [task, "--root", str(root), "--train_config", "config.yaml", "--model_file",
            "model.pth", "--outpath", str(root / "packed.zip")]
    for key, value in extra.items():
        argv += [f"--{key}", str(value)]
    pack_model.main(argv)
    return root / "packed.zip"


def test_asr_pack_loads_in_a_fresh_process_and_card_is_written(tmp_path, monkeypatch):
    root = tmp_path / "recipe"
    root.mkdir()
    model = build_model(root)  # the autouse _seed fixture fixes its initial weights
    train_briefly(model, root)
    relative_stats(root)
    (root / "RESULTS.md").write_text("# RESULTS\n|dataset|CER|\n|---|---|\n|test|1.0|\n")
    packed = pack(root, "asr", hf_dir=tmp_path / "hf")
    names = zipfile.ZipFile(packed).namelist()
    assert {"meta.yaml", "config.yaml", "model.pth", "feats_stats.npz",
            "RESULTS.md"} <= set(names)
    wav = tmp_path / "unseen.wav"
    sf.write(wav, tone_utterance("bcab", np.random.default_rng(3)), SR)
    from espnet2.bin.asr_inference import Speech2Text

    monkeypatch.chdir(root)  # the config's paths are relative to the recipe dir
    here = Speech2Text(root / "config.yaml", root / "model.pth", ctc_weight=1.0,
                       beam_size=2, nbest=1)(sf.read(wav, dtype="float32")[0])[0][0]
    there = fresh_process(tmp_path, "asr", packed, str(wav))
    assert there == here and set(here) <= set("abc") and here  # a trained model speaks
    card = (tmp_path / "hf" / "README.md").read_text()
    assert card.startswith("---\ntags:\n- espnet\n- espnet-mamba")
    assert "automatic-speech-recognition" in card and "|test|1.0|" in card
    assert "pip install espnet-mamba==" in card and "encoder: mamba" in card
    assert (tmp_path / "hf" / "meta.yaml").is_file()
    assert (tmp_path / "hf" / "model.pth").is_file()


def test_enh_pack_gives_the_same_separation(tmp_path):
    from espnet2.bin.enh_inference import SeparateSpeech

    root = tmp_path / "recipe"
    root.mkdir()
    build_enh(root)
    packed = pack(root, "enh")
    wav = tmp_path / "mix.wav"
    sf.write(wav, np.random.default_rng(0).standard_normal(4000).astype("float32") * 0.1, 8000)
    here = SeparateSpeech(root / "config.yaml", root / "model.pth",
                          normalize_output_wav=False)(sf.read(wav, dtype="float32")[0][None],
                                                      fs=8000)
    there = fresh_process(tmp_path, "enh", packed, str(wav))
    assert len(there) == 2
    for a, b in zip(there, here):
        np.testing.assert_allclose(np.array(a), b, rtol=1e-5, atol=1e-6)


def test_tts_pack_gives_the_same_features(tmp_path, monkeypatch):
    from espnet2.bin.tts_inference import Text2Speech

    root = tmp_path / "recipe"
    root.mkdir()
    tts_task_config(root)
    relative_stats(root)
    monkeypatch.chdir(root)  # the config's paths are relative to the recipe dir
    config = yaml.safe_load((root / "config.yaml").read_text())
    config["token_list"] = "tokens.txt"  # a token list file, packed too
    (root / "config.yaml").write_text(yaml.safe_dump(config))
    from espnet2.tasks.tts import TTSTask

    model, _ = TTSTask.build_model_from_file(root / "config.yaml", None, "cpu")
    torch.save(model.state_dict(), root / "model.pth")
    packed = pack(root, "tts")
    assert "tokens.txt" in zipfile.ZipFile(packed).namelist()
    here = Text2Speech(root / "config.yaml", root / "model.pth", seed=3)(
        "abc", decode_conf={"threshold": 2.0, "maxlenratio": 3.0})["feat_gen"]
    there = fresh_process(tmp_path, "tts", packed, "abc")
    np.testing.assert_allclose(np.array(there), here.numpy(), rtol=1e-5, atol=1e-5)


def test_missing_files_are_named(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        pack_model.main(["asr", "--root", str(tmp_path), "--train_config", "config.yaml",
                         "--model_file", "model.pth", "--outpath", str(tmp_path / "a.zip")])
    assert exit_info.value.code == 1
    assert f"no such file: {tmp_path / 'config.yaml'}" in capsys.readouterr().err
    assert not (tmp_path / "a.zip").exists()
    from espnet_mamba.export.pack import pack_model as pack_fn

    with pytest.raises(PackError, match="task must be one of"):
        pack_fn("st", "c", "m", tmp_path / "a.zip")
