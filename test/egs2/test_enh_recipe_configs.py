"""Every enhancement recipe config is accepted by ESPnet and builds its model (WSJ0-2mix
included, although only a GPU can train it); the recipe parameter counts hold."""
from pathlib import Path

import pytest

import espnet_mamba  # noqa: F401  (registers the separator)

REPO = Path(__file__).resolve().parents[2]
ENH_CONFIGS = sorted(REPO.glob("egs2/*/enh1/conf/train_enh*.yaml"))
# Parameter counts (millions) the recipe READMEs state.
WSJ0_2MIX_PARAMS = {"mamba_tasnet_xs": 2.21, "mamba_tasnet_s": 7.93, "mamba_tasnet_m": 15.65,
                    "mamba_tasnet_l": 58.95, "conv_tasnet": 8.71, "dprnn": 2.59}


def test_wsj0_2mix_configs_found():
    names = {p.stem for p in ENH_CONFIGS if p.parts[-4] == "wsj0_2mix"}
    assert names == {f"train_enh_{name}" for name in WSJ0_2MIX_PARAMS}


@pytest.mark.parametrize("config", ENH_CONFIGS, ids=lambda p: p.relative_to(REPO / "egs2").as_posix())
def test_enh_config_builds(config, tmp_path):
    from espnet2.tasks.enh import EnhancementTask, separator_choices

    args = EnhancementTask.get_parser().parse_args(
        ["--config", str(config), "--output_dir", str(tmp_path)])
    model = EnhancementTask.build_model(args)
    assert type(model.separator) is separator_choices.get_class(args.separator)
    if config.parts[-4] == "wsj0_2mix":
        params = sum(p.numel() for p in model.parameters()) / 1e6
        assert params == pytest.approx(WSJ0_2MIX_PARAMS[config.stem[len("train_enh_"):]],
                                       abs=0.005)
