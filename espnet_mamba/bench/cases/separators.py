"""Separation models over audio durations (``python -m espnet_mamba.bench separators``):
ESPnet's ``conv`` encoder, a separator and the ``conv`` decoder of each reference config,
on a random 8 kHz mixture, batch 1."""
from typing import Any, Dict, Tuple

import torch

from espnet_mamba.bench import configs
from espnet_mamba.bench.cases import ModelFns, model_step

SAMPLE_RATE = 8000

# kind -> reference config ("full": as it is; Conv-TasNet at Luo & Mesgarani 2019's best
# non-causal size)
CONFIGS = {"mamba_tasnet_xs": "enh/mamba_tasnet_xs.yaml",
           "mamba_tasnet_s": "enh/mamba_tasnet_s.yaml",
           "conv_tasnet": "enh/conv_tasnet.yaml"}
# "quick": (encoder channels, separator entries changed), tiny (tests and smoke runs)
QUICK: Dict[str, Tuple[int, Dict[str, Any]]] = {
    "mamba_tasnet_xs": (16, dict(d_model=16, num_layers=1, d_state=4)),
    "mamba_tasnet_s": (32, dict(d_model=32, num_layers=1, d_state=4)),
    "conv_tasnet": (16, dict(layer=2, stack=1, bottleneck_dim=16, hidden_dim=32)),
}
LABELS = {"mamba_tasnet_xs": "Mamba-TasNet XS", "mamba_tasnet_s": "Mamba-TasNet S",
          "conv_tasnet": "Conv-TasNet"}
SIZES = ("full", "quick")


class SeparationModel(torch.nn.Module):
    """ESPnet ``conv`` encoder -> separator -> ``conv`` decoder.

    Args:
        separator: An ESPnet separator taking the encoder's ``channel`` features.
        channel: Encoder channels N.
        kernel_size: Encoder/decoder kernel (samples).
        stride: Encoder/decoder stride (samples).
    """

    def __init__(self, separator: torch.nn.Module, channel: int, kernel_size: int,
                 stride: int):
        super().__init__()
        from espnet2.enh.decoder.conv_decoder import ConvDecoder
        from espnet2.enh.encoder.conv_encoder import ConvEncoder

        self.encoder = ConvEncoder(channel, kernel_size=kernel_size, stride=stride)
        self.separator = separator
        self.decoder = ConvDecoder(channel, kernel_size=kernel_size, stride=stride)

    def forward(self, wav: torch.Tensor, lengths: torch.Tensor
                ) -> Tuple[torch.Tensor, torch.Tensor]:
        """(batch, samples) -> (speakers (num_spk, batch, samples), lengths), the shape
        of an encoder's ``(output, lengths, ...)``."""
        feats, flens = self.encoder(wav, lengths)
        masked, flens, _ = self.separator(feats, flens)
        return torch.stack([self.decoder(m, lengths)[0] for m in masked]), lengths


def build(kind: str, size: str) -> SeparationModel:
    """The model of ``CONFIGS[kind]`` (``size`` ``full`` or ``quick``); the separator
    through ESPnet's ``separator_choices`` (the project's are registered there)."""
    from espnet2.tasks.enh import separator_choices

    conf = configs.load(CONFIGS[kind])
    encoder = dict(conf["encoder_conf"])
    options = dict(conf["separator_conf"])
    if size == "quick":
        encoder["channel"], changes = QUICK[kind]
        options.update(changes)
    separator = separator_choices.get_class(conf["separator"])(encoder["channel"], **options)
    return SeparationModel(separator, encoder["channel"], encoder["kernel_size"],
                           encoder["stride"])


def separator(device: str, seconds: float, mode: str, kind: str, size: str = "full"
              ) -> ModelFns:
    """Separate ``seconds`` of a random 8 kHz mixture in ``mode`` ``infer`` or ``train``."""
    model = build(kind, size).to(device)

    def inputs(secs: float) -> tuple:
        samples = round(secs * SAMPLE_RATE)
        return (torch.randn(1, samples, device=device),
                torch.tensor([samples], device=device))

    return model_step(model, inputs, seconds, mode)
