"""Every TTS recipe config builds its model with ESPnet; the espeak_en and wordnet_en pairs
are matched in size and training budget; decoding configs are accepted by
espnet2.bin.tts_inference."""
import re
from pathlib import Path

import numpy as np
import pytest
import yaml

import espnet_mamba  # noqa: F401  (registers mamba_tts)

REPO = Path(__file__).resolve().parents[2]
TRAIN_CONFIGS = sorted(REPO.glob("egs2/*/tts1/conf/train_*.yaml"))
DECODE_CONFIGS = sorted(REPO.glob("egs2/*/tts1/conf/decode*.yaml"))
# Matched pairs: the recipe, the two configs, the size of stage 3's token list (<blank>,
# <unk>, <space>, the corpus's characters, <sos/eos>), and whether the budget is one wall
# clock (epochs differ, each header's updates x seconds per update agree) or one number
# of updates.
PAIRS = {"espeak_en": ("espeak_en", "train_mamba_tts.yaml", "train_transformer_tts.yaml", 29,
                       False),
         "wordnet_en": ("wordnet_en", "train_mamba_fastspeech.yaml", "train_fastspeech.yaml", 31,
                        True)}
BUDGET = r"(\d+) epochs of (\d+) updates = (\d+) updates at ([0-9.]+) s per update"


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
            "ljspeech/tts1/conf/train_transformer_tts.yaml",
            "wordnet_en/tts1/conf/train_mamba_fastspeech.yaml",
            "wordnet_en/tts1/conf/train_fastspeech.yaml"} <= names


@pytest.mark.parametrize("config", TRAIN_CONFIGS, ids=lambda p: p.relative_to(REPO / "egs2").as_posix())
def test_tts_config_builds(config, tmp_path):
    from espnet2.tasks.tts import tts_choices

    model, args = build(config, tmp_path, 40)
    assert type(model.tts) is tts_choices.get_class(args.tts)
    assert model.feats_extract.get_parameters()["n_mels"] == 80


@pytest.mark.parametrize("recipe, mamba, baseline, n_tokens, wall_clock", PAIRS.values(),
                         ids=PAIRS)
def test_paired_models_are_matched(recipe, mamba, baseline, n_tokens, wall_clock, tmp_path):
    """Within 10% in size; the same features, optimiser, schedule and batches; the same
    updates, or with a wall-clock budget the same minutes (within 5%, under 2 hours)."""
    sizes = {}
    confs = {}
    for name in (mamba, baseline):
        config = REPO / "egs2" / recipe / "tts1" / "conf" / name
        confs[name] = yaml.safe_load(config.read_text())
        (tmp_path / name).mkdir()
        model, _ = build(config, tmp_path / name, n_tokens)
        sizes[name] = sum(p.numel() for p in model.parameters())
        # the measured count is written in the config's header
        assert f"{sizes[name] / 1e6:.2f}M parameters" in config.read_text()
    assert sizes[baseline] == pytest.approx(sizes[mamba], rel=0.10)
    own = ("tts", "tts_conf") + (("max_epoch",) if wall_clock else ())
    shared = {k: v for k, v in confs[mamba].items() if k not in own}
    assert shared == {k: v for k, v in confs[baseline].items() if k not in own}
    if wall_clock:
        minutes = {}
        for name, conf in confs.items():
            header = (REPO / "egs2" / recipe / "tts1" / "conf" / name).read_text()
            epochs, per_epoch, updates, seconds = re.search(
                BUDGET, header.replace("\n# ", " ")).groups()
            assert (int(epochs), int(per_epoch)) == (conf["max_epoch"], conf["num_iters_per_epoch"])
            assert int(updates) == int(epochs) * int(per_epoch)
            minutes[name] = int(updates) * float(seconds) / 60
        assert minutes[mamba] == pytest.approx(minutes[baseline], rel=0.05)
        assert max(minutes.values()) <= 120
    assert confs[mamba]["tts_conf"].get("reduction_factor", 1) == \
        confs[baseline]["tts_conf"].get("reduction_factor", 1)


@pytest.mark.parametrize("config", DECODE_CONFIGS, ids=lambda p: p.relative_to(REPO / "egs2").as_posix())
def test_decode_config_is_accepted(config):
    from espnet2.bin.tts_inference import get_parser

    args = get_parser().parse_args(
        ["--config", str(config), "--output_dir", "out", "--data_path_and_name_and_type",
         "text,text,text"])
    assert args.use_teacher_forcing is False
