"""Cases of ``python -m espnet_mamba.bench encoders`` and ``... separators``.

Whole ASR encoders (80-dim fbank at 100 frames/s in, ``conv2d`` subsampling) and whole
separation models (8 kHz waveform -> ESPnet ``conv`` encoder, kernel 16 stride 8 ->
separator -> ``conv`` decoder) at a given audio duration, batch 1.  Every factory
returns ``(forward, backward, report)`` for :func:`espnet_mamba.bench.measure.run_case`:
``mode="infer"`` times a ``no_grad`` forward in eval mode, ``mode="train"`` a forward
and backward of a squared-output loss in train mode; ``report`` gives the parameter
count.  The model, input and a first step on 1 s of audio belong to set-up.
"""
from typing import Any, Callable, Dict, Optional, Tuple

import torch

FBANK_DIM = 80
FRAMES_PER_SECOND = 100
SEPARATION_RATE = 8000

# Encoder sizes: "S" as conf/asr/*_s.yaml (ConMamba/Conformer S: d_model 144, 12 blocks,
# FFN 1024; the Mamba encoders as train_asr_mamba_cross_mamba_s.yaml: d_model 256, 18
# blocks), all about 10M parameters, and a Transformer of 12 blocks matched to them
# (d_model 192, FFN 1536: 9.9M); "quick" is tiny, for tests.
ENCODERS: Dict[str, Dict[str, Dict[str, Any]]] = {
    "S": {
        "conmamba": dict(output_size=144, linear_units=1024, num_blocks=12),
        "mamba_bi": dict(output_size=256, num_blocks=18, norm="rms_norm"),
        "mamba_causal": dict(output_size=256, num_blocks=18, norm="rms_norm",
                             bidirectional=False),
        "conformer": dict(output_size=144, attention_heads=4, linear_units=1024,
                          num_blocks=12),
        "transformer": dict(output_size=192, attention_heads=4, linear_units=1536,
                            num_blocks=12),
    },
    "quick": {
        "conmamba": dict(output_size=16, linear_units=32, num_blocks=1, d_state=4,
                         cnn_module_kernel=7),
        "mamba_bi": dict(output_size=16, num_blocks=1, d_state=4),
        "mamba_causal": dict(output_size=16, num_blocks=1, d_state=4, bidirectional=False),
        "conformer": dict(output_size=16, attention_heads=2, linear_units=32, num_blocks=1,
                          cnn_module_kernel=7),
        "transformer": dict(output_size=16, attention_heads=2, linear_units=32,
                            num_blocks=1),
    },
}
ENCODER_LABELS = {"conmamba": "ConMamba", "mamba_bi": "Mamba (bidirectional)",
                  "mamba_causal": "Mamba (unidirectional)", "conformer": "Conformer",
                  "transformer": "Transformer"}
# ESPnet's Conformer options of conf/asr/train_asr_conformer_ctc_s.yaml.
CONFORMER_OPTIONS = dict(
    input_layer="conv2d", normalize_before=True, macaron_style=True, rel_pos_type="latest",
    pos_enc_layer_type="rel_pos", selfattention_layer_type="rel_selfattn",
    activation_type="swish", use_cnn_module=True,
)

# Separator sizes: Mamba-TasNet XS/S as conf/enh/mamba_tasnet_{xs,s}.yaml; Conv-TasNet
# as Luo & Mesgarani 2019's best non-causal model (N=512, B=128, H=512, P=3, X=8, R=3).
SEPARATORS: Dict[str, Dict[str, Dict[str, Any]]] = {
    "full": {
        "mamba_tasnet_xs": dict(channel=128, d_model=128, num_layers=16),
        "mamba_tasnet_s": dict(channel=256, d_model=256, num_layers=16),
        "conv_tasnet": dict(channel=512, layer=8, stack=3, bottleneck_dim=128,
                            hidden_dim=512, kernel=3),
    },
    "quick": {
        "mamba_tasnet_xs": dict(channel=16, d_model=16, num_layers=1, d_state=4),
        "mamba_tasnet_s": dict(channel=32, d_model=32, num_layers=1, d_state=4),
        "conv_tasnet": dict(channel=16, layer=2, stack=1, bottleneck_dim=16, hidden_dim=32,
                            kernel=3),
    },
}
SEPARATOR_LABELS = {"mamba_tasnet_xs": "Mamba-TasNet XS", "mamba_tasnet_s": "Mamba-TasNet S",
                    "conv_tasnet": "Conv-TasNet"}

Fns = Tuple[Callable[[], torch.Tensor], Optional[Callable[[torch.Tensor], None]],
            Callable[[], Dict[str, float]]]


def _fns(model: torch.nn.Module, inputs: Callable[[float], tuple], seconds: float,
         mode: str) -> Fns:
    """``infer``: no_grad forward in eval mode; ``train``: squared-output loss and its
    backward in train mode.  One step on 1 s of input runs here, in set-up, so one-time
    costs (numba compiling, allocator pools) do not count in the measurement.

    Args:
        model: The model, on its device.
        inputs: ``seconds -> (input, lengths)`` for ``model``.
        seconds: Audio duration of the measured input.
        mode: ``infer`` or ``train``.
    """
    if mode not in ("infer", "train"):
        raise ValueError(f"mode must be 'infer' or 'train'; got {mode!r}")
    model.train(mode == "train")

    def step(args: tuple) -> Callable[[], torch.Tensor]:
        if mode == "train":
            return lambda: model(*args)[0].float().square().mean()

        def forward() -> torch.Tensor:
            with torch.no_grad():
                return model(*args)[0]

        return forward

    backward = (lambda loss: loss.backward()) if mode == "train" else None
    out = step(inputs(min(seconds, 1.0)))()
    if backward is not None:
        backward(out)
        model.zero_grad(set_to_none=True)
    del out

    def report() -> Dict[str, float]:
        return {"params_m": sum(p.numel() for p in model.parameters()) / 1e6}

    return step(inputs(seconds)), backward, report


def build_encoder(kind: str, size: str) -> torch.nn.Module:
    """An encoder of ``ENCODERS[size][kind]`` for 80-dim fbank input.

    Args:
        kind: ``conmamba``, ``mamba_bi``, ``mamba_causal``, ``conformer`` or
            ``transformer``.
        size: ``S`` or ``quick``.
    """
    conf = dict(ENCODERS[size][kind])
    if kind == "conmamba":
        from espnet_mamba.asr.encoder.conmamba_encoder import ConMambaEncoder

        return ConMambaEncoder(FBANK_DIM, **conf)
    if kind.startswith("mamba"):
        from espnet_mamba.asr.encoder.mamba_encoder import MambaEncoder

        return MambaEncoder(FBANK_DIM, **conf)
    if kind == "conformer":
        from espnet2.asr.encoder.conformer_encoder import ConformerEncoder

        return ConformerEncoder(FBANK_DIM, **CONFORMER_OPTIONS, **conf)
    from espnet2.asr.encoder.transformer_encoder import TransformerEncoder

    return TransformerEncoder(FBANK_DIM, input_layer="conv2d", **conf)


def encoder(device: str, seconds: float, mode: str, kind: str, size: str = "S") -> Fns:
    """Encode ``seconds`` of random fbank features (batch 1).

    Args:
        device: Torch device.
        seconds: Audio duration (``FRAMES_PER_SECOND`` frames a second).
        mode: ``infer`` or ``train``.
        kind: Encoder kind (see :func:`build_encoder`).
        size: ``S`` or ``quick``.
    """
    model = build_encoder(kind, size).to(device)

    def inputs(secs: float) -> tuple:
        frames = round(secs * FRAMES_PER_SECOND)
        return (torch.randn(1, frames, FBANK_DIM, device=device),
                torch.tensor([frames], device=device))

    return _fns(model, inputs, seconds, mode)


class SeparationModel(torch.nn.Module):
    """ESPnet ``conv`` encoder (kernel 16, stride 8) -> separator -> ``conv`` decoder.

    Args:
        separator: An ESPnet separator taking the encoder's ``channel`` features.
        channel: Encoder channels N.
    """

    def __init__(self, separator: torch.nn.Module, channel: int):
        super().__init__()
        from espnet2.enh.decoder.conv_decoder import ConvDecoder
        from espnet2.enh.encoder.conv_encoder import ConvEncoder

        self.encoder = ConvEncoder(channel, kernel_size=16, stride=8)
        self.separator = separator
        self.decoder = ConvDecoder(channel, kernel_size=16, stride=8)

    def forward(self, wav: torch.Tensor, lengths: torch.Tensor
                ) -> Tuple[torch.Tensor, torch.Tensor]:
        """(batch, samples) -> (speakers (num_spk, batch, samples), lengths), the shape
        of an encoder's ``(output, lengths, ...)``."""
        feats, flens = self.encoder(wav, lengths)
        masked, flens, _ = self.separator(feats, flens)
        return torch.stack([self.decoder(m, lengths)[0] for m in masked]), lengths


def build_separator(kind: str, size: str) -> SeparationModel:
    """A 2-speaker separation model of ``SEPARATORS[size][kind]``.

    Args:
        kind: ``mamba_tasnet_xs``, ``mamba_tasnet_s`` or ``conv_tasnet``.
        size: ``full`` or ``quick``.
    """
    conf = dict(SEPARATORS[size][kind])
    channel = conf.pop("channel")
    if kind == "conv_tasnet":
        from espnet2.enh.separator.tcn_separator import TCNSeparator

        separator = TCNSeparator(channel, num_spk=2, norm_type="gLN", nonlinear="relu", **conf)
    else:
        from espnet_mamba.enh.separator.mamba_separator import MambaSeparator

        separator = MambaSeparator(channel, num_spk=2, **conf)
    return SeparationModel(separator, channel)


def separator(device: str, seconds: float, mode: str, kind: str, size: str = "full") -> Fns:
    """Separate ``seconds`` of a random 8 kHz mixture (batch 1).

    Args:
        device: Torch device.
        seconds: Audio duration.
        mode: ``infer`` or ``train``.
        kind: Separator kind (see :func:`build_separator`).
        size: ``full`` or ``quick``.
    """
    model = build_separator(kind, size).to(device)

    def inputs(secs: float) -> tuple:
        samples = round(secs * SEPARATION_RATE)
        return (torch.randn(1, samples, device=device),
                torch.tensor([samples], device=device))

    return _fns(model, inputs, seconds, mode)
