"""Config checks of every registered component: types as ESPnet's @typechecked, ranges
at build time, each error naming the argument."""
import pytest
import yaml
from typeguard import TypeCheckError

from espnet_mamba import registry
from espnet_mamba.asr.decoder.cross_mamba_decoder import CrossMambaDecoder
from espnet_mamba.asr.decoder.mamba_decoder import MambaDecoder
from espnet_mamba.asr.encoder.conmamba_encoder import ConMambaEncoder
from espnet_mamba.asr.encoder.mamba_encoder import MambaEncoder
from espnet_mamba.enh.separator.mamba_separator import MambaSeparator
from espnet_mamba.tts.mamba_fastspeech import MambaFastSpeech
from espnet_mamba.tts.mamba_tts import MambaTTS

# class -> positional arguments ESPnet passes itself, and a small valid config
BASE = {
    MambaEncoder: ((40,), dict(output_size=16, num_blocks=1, d_state=4)),
    ConMambaEncoder: ((40,), dict(output_size=16, linear_units=16, num_blocks=1, d_state=4,
                                  cnn_module_kernel=3)),
    MambaDecoder: ((10, 16), dict(linear_units=16, num_blocks=1, d_state=4)),
    CrossMambaDecoder: ((10, 16), dict(linear_units=16, num_blocks=1, d_state=4)),
    MambaSeparator: ((16,), dict(d_model=16, num_layers=1, d_state=4)),
    MambaTTS: ((10, 8), dict(adim=16, num_blocks=1, d_state=4, dprenet_units=8,
                             postnet_units=8, postnet_layers=1)),
    MambaFastSpeech: ((10, 8), dict(adim=16, encoder_blocks=1, decoder_blocks=1, d_state=4,
                                    duration_predictor_chans=8, postnet_units=8)),
}

# What a user writes in YAML (parsed by yaml, as ESPnet does) -> the argument named.
TYPE_ERRORS = [
    ('bidirectional: "false"', "bidirectional"),
    ('num_blocks: "four"', "num_blocks"),
    ('output_size: "16"', "output_size"),
    ('d_state: 4.5', "d_state"),
    ("expand: [2]", "expand"),
]
COMMON_RANGES = [("d_state: 0", "d_state"), ("d_conv: 0", "d_conv"), ("expand: 0", "expand")]
RANGE_ERRORS = {
    MambaEncoder: COMMON_RANGES + [("num_blocks: 0", "num_blocks"),
                                   ("num_blocks: -1", "num_blocks"),
                                   ("output_size: 0", "output_size"),
                                   ("dropout_rate: 1.5", "dropout_rate"),
                                   ("input_layer: conv3d", "input_layer"),
                                   ("bidirectional_type: sideways", "bidirectional_type"),
                                   ("norm: batch_norm", "norm")],
    ConMambaEncoder: COMMON_RANGES + [("linear_units: 0", "linear_units"),
                                      ("num_blocks: 0", "num_blocks"),
                                      ("cnn_module_kernel: 0", "cnn_module_kernel"),
                                      ("cnn_module_kernel: 4", "cnn_module_kernel"),
                                      ("cnn_module_norm: group_norm", "cnn_module_norm"),
                                      ("activation_type: tanh", "activation_type"),
                                      ("bidirectional_merge: mul", "bidirectional_merge")],
    MambaDecoder: COMMON_RANGES + [("num_blocks: 0", "num_blocks"),
                                   ("linear_units: 0", "linear_units"),
                                   ("attention_heads: 0", "attention_heads"),
                                   ("attention_heads: 3", "attention_heads"),
                                   ("dropout_rate: -0.1", "dropout_rate")],
    CrossMambaDecoder: COMMON_RANGES + [("num_blocks: 0", "num_blocks"),
                                        ("output_size: 0", "output_size"),
                                        ("linear_units: -5", "linear_units")],
    MambaSeparator: COMMON_RANGES + [("num_layers: 0", "num_layers"),
                                     ("num_spk: 0", "num_spk"),
                                     ("d_model: 0", "d_model"),
                                     ("nonlinear: gelu", "nonlinear"),
                                     ("norm: none", "norm")],
    MambaTTS: COMMON_RANGES + [("num_blocks: 0", "num_blocks"),
                               ("adim: 0", "adim"),
                               ("reduction_factor: 0", "reduction_factor"),
                               ("postnet_layers: -1", "postnet_layers"),
                               ("dprenet_dropout_rate: 1.0", "dprenet_dropout_rate"),
                               ("loss_type: L3", "loss_type")],
    MambaFastSpeech: COMMON_RANGES + [("encoder_blocks: 0", "encoder_blocks"),
                                      ("decoder_blocks: 0", "decoder_blocks"),
                                      ("adim: 0", "adim"),
                                      ("duration_predictor_kernel_size: 4",
                                       "duration_predictor_kernel_size"),
                                      ("postnet_layers: -1", "postnet_layers"),
                                      ("dropout_rate: 1.0", "dropout_rate"),
                                      ("bidirectional_type: sideways", "bidirectional_type"),
                                      ("norm: none", "norm")],
}
TYPE_ERRORS_OF = {
    MambaEncoder: TYPE_ERRORS,
    ConMambaEncoder: TYPE_ERRORS,
    MambaDecoder: [TYPE_ERRORS[1]] + TYPE_ERRORS[3:],
    CrossMambaDecoder: TYPE_ERRORS[1:],
    MambaSeparator: [('causal: "false"', "causal"), ('num_layers: "4"', "num_layers")]
    + TYPE_ERRORS[3:],
    MambaTTS: [('use_masking: "yes"', "use_masking"), ('adim: "16"', "adim")]
    + TYPE_ERRORS[3:],
    MambaFastSpeech: [('use_masking: "yes"', "use_masking"),
                      ('encoder_blocks: "2"', "encoder_blocks")] + TYPE_ERRORS[3:],
}


def build(cls, conf_yaml):
    args, conf = BASE[cls]
    return cls(*args, **{**conf, **yaml.safe_load(conf_yaml)})


def test_every_registered_component_is_covered():
    assert {registry._load(e.target) for e in registry.entries()} == set(BASE)


@pytest.mark.parametrize("cls", list(BASE), ids=lambda c: c.__name__)
def test_valid_configs_build(cls):
    build(cls, "{}")


CASES = [(cls, conf, name) for cls, cases in TYPE_ERRORS_OF.items() for conf, name in cases]


@pytest.mark.parametrize("cls,conf,name", CASES,
                         ids=[f"{c.__name__}-{conf}" for c, conf, _ in CASES])
def test_wrong_types_name_the_argument(cls, conf, name):
    with pytest.raises(TypeCheckError, match=f'"{name}"'):
        build(cls, conf)


RANGES = [(cls, conf, name) for cls, cases in RANGE_ERRORS.items() for conf, name in cases]


@pytest.mark.parametrize("cls,conf,name", RANGES,
                         ids=[f"{c.__name__}-{conf}" for c, conf, _ in RANGES])
def test_out_of_range_values_fail_at_build_time_naming_the_argument(cls, conf, name):
    with pytest.raises(ValueError, match=name):
        build(cls, conf)


def test_quoted_false_no_longer_builds_a_bidirectional_model():
    """The reported case: 11370 (bidirectional) vs 10698 parameters; now an error."""
    with pytest.raises(TypeCheckError, match='argument "bidirectional" \\(str\\) is not an '
                                             'instance of bool'):
        MambaEncoder(40, output_size=16, num_blocks=1, bidirectional="false")
