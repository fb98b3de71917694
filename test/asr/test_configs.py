"""Reference configs in conf/asr build through ESPnet's ASRTask; parameter counts."""
from pathlib import Path

import pytest
import torch
from espnet2.tasks.asr import ASRTask

CONF = Path(__file__).resolve().parents[2] / "conf" / "asr"
VOCAB = 5000  # LibriSpeech-100's BPE size


def build(config: Path, tmp_path: Path):
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("\n".join(["<blank>", "<unk>"] + [f"t{i}" for i in range(VOCAB - 3)]
                                + ["<sos/eos>"]) + "\n")
    parser = ASRTask.get_parser()
    args = parser.parse_args(["--config", str(config), "--token_list", str(tokens)])
    return ASRTask.build_model(args)


def count(module) -> float:
    return sum(p.numel() for p in module.parameters()) / 1e6


@pytest.mark.parametrize("size", ["s", "l"])
def test_reference_configs_build_and_report_parameters(size, tmp_path):
    rows = {}
    for config in sorted(CONF.glob(f"train_asr_*_{size}.yaml")):
        model = build(config, tmp_path)
        name = config.stem[len("train_asr_"):-len(f"_{size}")]
        rows[name] = (count(model), count(model.encoder),
                      count(model.decoder) if model.decoder is not None else 0.0)
        if "ctc" in name:
            assert model.decoder is None
    print(f"\nsize {size.upper()}: model / encoder / decoder parameters (M), vocab {VOCAB}")
    for name, (total, enc, dec) in rows.items():
        print(f"  {name:22s} {total:7.2f} {enc:7.2f} {dec:7.2f}")
    # S also has the Transformer baseline of the benchmarks and ConMamba-2
    only_s = ("transformer_ctc", "conmamba2") if size == "s" else ()
    assert set(rows) == {"conformer", "conformer_ctc", "conmamba", "conmamba_ctc",
                         "conmamba_mamba", "mamba_cross_mamba", *only_s}
    # Matched sizes: the other encoders are within 10% of the Conformer encoder.
    for name in ("conmamba", "mamba_cross_mamba", *only_s):
        assert 0.9 < rows[name][1] / rows["conformer"][1] < 1.1, name


@pytest.mark.parametrize("name", ["conmamba_mamba_s", "mamba_cross_mamba_s", "conmamba2_s"])
def test_forward_backward_uses_every_parameter(name, tmp_path):
    model = build(CONF / f"train_asr_{name}.yaml", tmp_path)
    speech = torch.randn(2, 8000)
    lengths = torch.tensor([8000, 6000])
    text = torch.randint(2, VOCAB - 1, (2, 5))
    loss, stats, _ = model(speech, lengths, text, torch.tensor([5, 3]))
    loss.backward()
    unused = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert torch.isfinite(loss) and not unused  # DDP needs every parameter used
