"""egs2/espeak_2mix: the three separators are matched in size and share one training
budget (test_enh_recipe_configs.py checks that every config builds)."""
import re
from pathlib import Path

import pytest
import yaml

import espnet_mamba  # noqa: F401  (registers the separator)

CONF = Path(__file__).resolve().parents[2] / "egs2" / "espeak_2mix" / "enh1" / "conf"
SEPARATORS = {"train_enh_mamba_tasnet.yaml": "mamba", "train_enh_conv_tasnet.yaml": "tcn",
              "train_enh_dprnn.yaml": "dprnn"}


def test_configs_found():
    assert sorted(p.name for p in CONF.glob("train_enh_*.yaml")) == sorted(SEPARATORS)


def test_matched_sizes_as_stated(tmp_path):
    from espnet2.tasks.enh import EnhancementTask

    counts = {}
    for name, separator in SEPARATORS.items():
        args = EnhancementTask.get_parser().parse_args(
            ["--config", str(CONF / name), "--output_dir", str(tmp_path)])
        assert args.separator == separator
        model = EnhancementTask.build_model(args)
        counts[name] = sum(p.numel() for p in model.parameters())
        # the count in the config's header comment
        stated = re.search(r"([0-9.]+)M parameters", (CONF / name).read_text()).group(1)
        assert counts[name] / 1e6 == pytest.approx(float(stated), abs=0.005), name
    assert all(1e6 <= n <= 2e6 for n in counts.values())
    assert max(counts.values()) / min(counts.values()) < 1.1


def test_one_budget_for_all():
    """Everything but the separator is the same: data, batches, optimiser, updates."""
    configs = [yaml.safe_load((CONF / name).read_text()) for name in SEPARATORS]
    shared = [{k: v for k, v in c.items() if not k.startswith("separator")} for c in configs]
    assert shared[0] == shared[1] == shared[2]
    assert shared[0]["encoder_conf"] == shared[0]["decoder_conf"] == {
        "channel": 128, "kernel_size": 16, "stride": 8}
    assert shared[0]["max_epoch"] * shared[0]["num_iters_per_epoch"] == 360
