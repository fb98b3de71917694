"""Every TTS recipe config builds its model with ESPnet; the espeak_en pair is matched in
size and training budget; decoding configs are accepted by espnet2.bin.tts_inference."""
from pathlib import Path

import numpy as np
import pytest
import yaml

import espnet_mamba  # noqa: F401  (registers mamba_tts)

REPO = Path(__file__).resolve().parents[2]
TRAIN_CONFIGS = sorted(REPO.glob("egs2/*/tts1/conf/train_*.yaml"))
DECODE_CONFIGS = sorted(REPO.glob("egs2/*/tts1/conf/decode*.yaml"))
ESPEAK = REPO / "egs2" / "espeak_en" / "tts1" / "conf"
# stage 3's token list of the espeak_en corpus: <blank>, <unk>, <space>, 25 letters, <sos/eos>
ESPEAK_TOKENS = 29


def build(config: Path, tmp_path: Path, n_tokens: int):
    from espnet2.tasks.tts import TTSTask

    token_list = tmp_path / "tokens.txt"
    token_list.write_text("\n".join(f"t{i}" for i in range(n_tokens)) + "\n")
    n_mels = yaml.safe_load(config.read_text())["feats_extract_conf"]["n_mels"]
    np.savez(tmp_path / "feats_stats.npz", count=np.array(10.0), sum=np.zeros(n_mels),
             sum_square=np.full(n_mels, 10.0))
    args = TTSTask.get_parser().parse_args(
        ["--config", str(config), "--token_list", str(token_list), "--token_type", "char",
         "--normalize_conf", f"stats_file={tmp_path / 'feats_stats.npz'}"])
    return TTSTask.build_model(args), args


def test_configs_found():
    names = {p.relative_to(REPO / "egs2").as_posix() for p in TRAIN_CONFIGS}
    assert {"mini_an4/tts1/conf/train_mamba_tts_debug.yaml",
            "espeak_en/tts1/conf/train_mamba_tts.yaml",
            "espeak_en/tts1/conf/train_transformer_tts.yaml",
            "ljspeech/tts1/conf/train_mamba_tts.yaml",
            "ljspeech/tts1/conf/train_transformer_tts.yaml"} <= names


@pytest.mark.parametrize("config", TRAIN_CONFIGS, ids=lambda p: p.relative_to(REPO / "egs2").as_posix())
def test_tts_config_builds(config, tmp_path):
    from espnet2.tasks.tts import tts_choices

    model, args = build(config, tmp_path, 40)
    assert type(model.tts) is tts_choices.get_class(args.tts)
    assert model.feats_extract.get_parameters()["n_mels"] == 80


def test_espeak_en_models_are_matched(tmp_path):
    """Within 10% in size; the same features, optimiser, schedule, batches and updates."""
    sizes = {}
    confs = {}
    for name in ("mamba", "transformer"):
        config = ESPEAK / f"train_{name}_tts.yaml"
        confs[name] = yaml.safe_load(config.read_text())
        (tmp_path / name).mkdir()
        model, _ = build(config, tmp_path / name, ESPEAK_TOKENS)
        sizes[name] = sum(p.numel() for p in model.parameters())
        # the measured count is written in the config's header
        assert f"{sizes[name] / 1e6:.2f}M parameters" in config.read_text()
    assert sizes["transformer"] == pytest.approx(sizes["mamba"], rel=0.10)
    shared = {k: v for k, v in confs["mamba"].items() if k not in ("tts", "tts_conf")}
    assert shared == {k: v for k, v in confs["transformer"].items()
                      if k not in ("tts", "tts_conf")}
    assert confs["mamba"]["tts_conf"]["reduction_factor"] == \
        confs["transformer"]["tts_conf"]["reduction_factor"]


@pytest.mark.parametrize("config", DECODE_CONFIGS, ids=lambda p: p.relative_to(REPO / "egs2").as_posix())
def test_decode_config_is_accepted(config):
    from espnet2.bin.tts_inference import get_parser

    args = get_parser().parse_args(
        ["--config", str(config), "--output_dir", "out", "--data_path_and_name_and_type",
         "text,text,text"])
    assert args.use_teacher_forcing is False
