"""ASR encoders over audio durations (``python -m espnet_mamba.bench encoders``): one
encoder of each reference config, on random 80-dim fbank features, batch 1."""
from typing import Any, Dict

import torch

from espnet_mamba.bench import configs
from espnet_mamba.bench.cases import ModelFns, model_step

FBANK_DIM = 80
FRAMES_PER_SECOND = 100

# kind -> (reference config, entries changed); "S": the configs as they are (ConMamba and
# Conformer S: d_model 144, 12 blocks; ConMamba-2: ConMamba S with Mamba-2 mixers; Mamba:
# d_model 256, 18 blocks; Transformer: d_model 192, 12 blocks; all about 10M parameters).
CONFIGS: Dict[str, tuple] = {
    "conmamba": ("asr/train_asr_conmamba_ctc_s.yaml", {}),
    "conmamba2": ("asr/train_asr_conmamba2_s.yaml", {}),
    "mamba_bi": ("asr/train_asr_mamba_cross_mamba_s.yaml", {}),
    "mamba_causal": ("asr/train_asr_mamba_cross_mamba_s.yaml", {"bidirectional": False}),
    "conformer": ("asr/train_asr_conformer_ctc_s.yaml", {}),
    "transformer": ("asr/train_asr_transformer_ctc_s.yaml", {}),
}
# "quick": the same configs, tiny (tests and smoke runs)
QUICK: Dict[str, Dict[str, Any]] = {
    "conmamba": dict(output_size=16, linear_units=32, num_blocks=1, d_state=4,
                     cnn_module_kernel=7),
    "conmamba2": dict(output_size=16, linear_units=32, num_blocks=1, d_state=4,
                      cnn_module_kernel=7, headdim=8, chunk_size=16),
    "mamba_bi": dict(output_size=16, num_blocks=1, d_state=4),
    "mamba_causal": dict(output_size=16, num_blocks=1, d_state=4),
    "conformer": dict(output_size=16, attention_heads=2, linear_units=32, num_blocks=1,
                      cnn_module_kernel=7),
    "transformer": dict(output_size=16, attention_heads=2, linear_units=32, num_blocks=1),
}
LABELS = {"conmamba": "ConMamba", "conmamba2": "ConMamba-2", "mamba_bi": "Mamba (bidirectional)",
          "mamba_causal": "Mamba (unidirectional)", "conformer": "Conformer",
          "transformer": "Transformer"}
SIZES = ("S", "quick")


def build(kind: str, size: str) -> torch.nn.Module:
    """The encoder of ``CONFIGS[kind]`` (``size`` ``S`` or ``quick``), through ESPnet's
    ``encoder_choices`` (the project's classes are registered there)."""
    from espnet2.tasks.asr import encoder_choices

    config, changes = CONFIGS[kind]
    conf = configs.load(config)
    options = dict(conf["encoder_conf"], **changes, **(QUICK[kind] if size == "quick" else {}))
    return encoder_choices.get_class(conf["encoder"])(FBANK_DIM, **options)


def encoder(device: str, seconds: float, mode: str, kind: str, size: str = "S") -> ModelFns:
    """Encode ``seconds`` of random fbank features (``FRAMES_PER_SECOND`` frames a
    second) in ``mode`` ``infer`` or ``train``."""
    model = build(kind, size).to(device)

    def inputs(secs: float) -> tuple:
        frames = round(secs * FRAMES_PER_SECOND)
        return (torch.randn(1, frames, FBANK_DIM, device=device),
                torch.tensor([frames], device=device))

    return model_step(model, inputs, seconds, mode)
