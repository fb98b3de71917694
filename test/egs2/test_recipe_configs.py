"""Every recipe config is accepted by ESPnet and builds its model (LibriSpeech included,
although only a GPU can train it)."""
from pathlib import Path

import numpy as np
import pytest

import espnet_mamba  # noqa: F401  (registers the encoders)

REPO = Path(__file__).resolve().parents[2]
ASR_CONFIGS = sorted(REPO.glob("egs2/*/asr1/conf/train_asr*.yaml"))
LM_CONFIGS = sorted(REPO.glob("egs2/*/asr1/conf/train_lm*.yaml"))
DECODE_CONFIGS = sorted(REPO.glob("egs2/*/asr1/conf/decode*.yaml"))


@pytest.fixture(scope="module")
def token_list(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("tokens") / "tokens.txt"
    path.write_text("\n".join(["<blank>", "<unk>", *[f"t{i}" for i in range(97)],
                               "<sos/eos>"]) + "\n")
    return str(path)


def test_configs_found():
    names = {p.relative_to(REPO / "egs2").as_posix() for p in ASR_CONFIGS}
    assert {"mini_an4/asr1/conf/train_asr_debug.yaml",
            "librispeech_100/asr1/conf/train_asr_conformer.yaml",
            "librispeech_100/asr1/conf/train_asr_conmamba_s.yaml",
            "librispeech_100/asr1/conf/train_asr_conmamba_l.yaml",
            "librispeech_100/asr1/conf/train_asr_mamba_cross_mamba_s.yaml",
            "espeak_en/asr1/conf/train_asr_conmamba.yaml",
            "espeak_en/asr1/conf/train_asr_conformer.yaml"} <= names


@pytest.mark.parametrize("config", ASR_CONFIGS, ids=lambda p: p.relative_to(REPO / "egs2").as_posix())
def test_asr_config_builds(config, token_list, tmp_path):
    from espnet2.tasks.asr import ASRTask, decoder_choices, encoder_choices

    args = ASRTask.get_parser().parse_args(
        ["--config", str(config), "--token_list", token_list, "--output_dir", str(tmp_path),
         "--frontend_conf", "fs=16k"])
    if args.normalize == "global_mvn" and "stats_file" not in args.normalize_conf:
        # asr.sh passes the stats of stage 4; stand-in statistics of the right size
        n_mels = args.frontend_conf.get("n_mels", 80)
        np.savez(tmp_path / "feats_stats.npz", count=np.array(10.0), sum=np.zeros(n_mels),
                 sum_square=np.full(n_mels, 10.0))
        args.normalize_conf = {"stats_file": str(tmp_path / "feats_stats.npz")}
    model = ASRTask.build_model(args)
    assert type(model.encoder) is encoder_choices.get_class(args.encoder)
    if model.decoder is not None:
        assert type(model.decoder) is decoder_choices.get_class(args.decoder)


@pytest.mark.parametrize("config", LM_CONFIGS, ids=lambda p: p.relative_to(REPO / "egs2").as_posix())
def test_lm_config_builds(config, token_list, tmp_path):
    from espnet2.tasks.lm import LMTask

    args = LMTask.get_parser().parse_args(
        ["--config", str(config), "--token_list", token_list, "--output_dir", str(tmp_path)])
    assert LMTask.build_model(args) is not None


@pytest.mark.parametrize("config", DECODE_CONFIGS, ids=lambda p: p.relative_to(REPO / "egs2").as_posix())
def test_decode_config_is_accepted(config):
    from espnet2.bin.asr_inference import get_parser

    args = get_parser().parse_args(
        ["--config", str(config), "--output_dir", "out", "--data_path_and_name_and_type",
         "wav.scp,speech,sound"])
    assert args.beam_size >= 1
