"""egs2/espeak_2mix and egs2/wordnet_2mix: the three separators are matched in size and
share one training budget, of updates (espeak_2mix) or of wall-clock time (wordnet_2mix)
(test_enh_recipe_configs.py checks that every config builds)."""
import re
from pathlib import Path

import pytest
import yaml

import espnet_mamba  # noqa: F401  (registers the separator)

EGS2 = Path(__file__).resolve().parents[2] / "egs2"
CONFS = [EGS2 / "espeak_2mix" / "enh1" / "conf", EGS2 / "wordnet_2mix" / "enh1" / "conf"]
SEPARATORS = {"train_enh_mamba_tasnet.yaml": "mamba", "train_enh_conv_tasnet.yaml": "tcn",
              "train_enh_dprnn.yaml": "dprnn"}


@pytest.mark.parametrize("conf", CONFS, ids=lambda c: c.parts[-3])
def test_configs_found(conf):
    assert sorted(p.name for p in conf.glob("train_enh_*.yaml")) == sorted(SEPARATORS)


@pytest.mark.parametrize("conf", CONFS, ids=lambda c: c.parts[-3])
def test_matched_sizes_as_stated(conf, tmp_path):
    from espnet2.tasks.enh import EnhancementTask

    counts = {}
    for name, separator in SEPARATORS.items():
        args = EnhancementTask.get_parser().parse_args(
            ["--config", str(conf / name), "--output_dir", str(tmp_path)])
        assert args.separator == separator
        model = EnhancementTask.build_model(args)
        counts[name] = sum(p.numel() for p in model.parameters())
        # the count in the config's header comment
        stated = re.search(r"([0-9.]+)M parameters", (conf / name).read_text()).group(1)
        assert counts[name] / 1e6 == pytest.approx(float(stated), abs=0.005), name
    assert all(1e6 <= n <= 2e6 for n in counts.values())
    assert max(counts.values()) / min(counts.values()) < 1.1


def test_one_budget_for_all():
    """Everything but the separator is the same: data, batches, optimiser, updates."""
    configs = [yaml.safe_load((CONFS[0] / name).read_text()) for name in SEPARATORS]
    shared = [{k: v for k, v in c.items() if not k.startswith("separator")} for c in configs]
    assert shared[0] == shared[1] == shared[2]
    assert shared[0]["encoder_conf"] == shared[0]["decoder_conf"] == {
        "channel": 128, "kernel_size": 16, "stride": 8}
    assert shared[0]["max_epoch"] * shared[0]["num_iters_per_epoch"] == 360


def test_one_wall_clock_budget_for_all():
    """wordnet_2mix: everything but the separator and the number of epochs is the same;
    each header's updates times its seconds per update, plus its validation time per
    epoch, is at most 90 minutes and within 10 of the others'."""
    configs = {name: yaml.safe_load((CONFS[1] / name).read_text()) for name in SEPARATORS}
    shared = [{k: v for k, v in c.items() if not k.startswith("separator") and k != "max_epoch"}
              for c in configs.values()]
    assert shared[0] == shared[1] == shared[2]
    for name, config in configs.items():
        header = (CONFS[1] / name).read_text()
        epochs, per_epoch, updates, seconds, valid, minutes = re.search(
            r"(\d+) epochs of (\d+) updates = (\d+) updates at ([0-9.]+) s per update plus "
            r"([0-9.]+) s of validation .*? per epoch, about (\d+) minutes",
            header.replace("\n# ", " ")).groups()
        assert (int(epochs), int(per_epoch)) == (config["max_epoch"],
                                                 config["num_iters_per_epoch"])
        assert int(updates) == int(epochs) * int(per_epoch)
        total = (int(updates) * float(seconds) + int(epochs) * float(valid)) / 60
        assert total == pytest.approx(int(minutes), abs=0.5), name
        assert 80 <= total <= 90, name
