"""What careless input does: short clips in a batch, lengths beyond the tensor, an empty
batch, garbage in the padding, wrong scan arguments, odd streaming chunks."""
import numpy as np
import pytest
import torch

from espnet_mamba.asr.decoder.cross_mamba_decoder import CrossMambaDecoder
from espnet_mamba.asr.decoder.mamba_decoder import MambaDecoder
from espnet_mamba.asr.encoder.conmamba_encoder import ConMambaEncoder
from espnet_mamba.asr.encoder.mamba_encoder import MambaEncoder
from espnet_mamba.asr.streaming import as_mono_samples
from espnet_mamba.enh.separator.mamba_separator import MambaSeparator
from espnet_mamba.modules import BiMambaInner, BiMambaOuter, Mamba
from espnet_mamba.ops import selective_scan
from espnet_mamba.tts.mamba_tts import MambaTTS

ENCODERS = {
    "mamba": lambda: MambaEncoder(20, output_size=16, num_blocks=2, d_state=4),
    "mamba_causal": lambda: MambaEncoder(20, output_size=16, num_blocks=2, d_state=4,
                                         bidirectional=False),
    "conmamba": lambda: ConMambaEncoder(20, output_size=16, linear_units=16, num_blocks=2,
                                        d_state=4, cnn_module_kernel=5),
}


# ---------------------------------------------------------------- short utterances
def test_asr_training_goes_on_with_a_clip_too_short_for_the_subsampling():
    """A 5-frame clip in a batch of 60 frames: zero encoder frames, finite CTC loss
    (ESPnet's zero_infinity), gradients everywhere; as ESPnet's Conformer."""
    from espnet2.asr.ctc import CTC
    from espnet2.asr.espnet_model import ESPnetASRModel

    encoder = ENCODERS["conmamba"]()
    model = ESPnetASRModel(vocab_size=6, token_list=list("_uabc") + ["<sos/eos>"],
                           frontend=None, specaug=None, normalize=None, preencoder=None,
                           encoder=encoder, postencoder=None, decoder=None, joint_network=None,
                           ctc=CTC(6, encoder.output_size()), ctc_weight=1.0)
    speech = torch.randn(3, 60, 20)
    loss, stats, _ = model(speech, torch.tensor([60, 5, 40]),
                           torch.tensor([[2, 3, 4], [2, 0, 0], [3, 4, 0]]),
                           torch.tensor([3, 1, 2]))
    assert torch.isfinite(loss)
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


@pytest.mark.parametrize("name", list(ENCODERS))
def test_lengths_beyond_the_tensor_are_an_error(name):
    enc = ENCODERS[name]()
    with pytest.raises(ValueError, match=r"ilens must be in 0\.\.30 .*got values from 20 to 45"):
        enc(torch.randn(2, 30, 20), torch.tensor([45, 20]))


@pytest.mark.parametrize("name", list(ENCODERS))
def test_an_empty_batch_is_an_error(name):
    with pytest.raises(ValueError, match="empty batch"):
        ENCODERS[name]()(torch.randn(0, 30, 20), torch.zeros(0, dtype=torch.long))


@pytest.mark.parametrize("block", [BiMambaInner, BiMambaOuter, Mamba])
def test_blocks_check_lengths(block):
    with pytest.raises(ValueError, match=r"lengths must be in 0\.\.10"):
        block(8, d_state=4)(torch.randn(2, 10, 8), torch.tensor([11, 3]))
    with pytest.raises(ValueError, match="one length per utterance"):
        block(8, d_state=4)(torch.randn(2, 10, 8), torch.tensor([10]))


# ---------------------------------------------------------------- garbage in the padding
def poison(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """NaN and Inf in every padded frame (an uninitialised buffer)."""
    x = x.clone()
    for b, n in enumerate(lengths.tolist()):
        x[b, n:] = float("nan")
        x[b, n + 1:] = float("inf")
    return x


@pytest.mark.parametrize("name", list(ENCODERS))
def test_nan_in_encoder_padding_never_reaches_real_frames(name):
    enc = ENCODERS[name]().eval()
    xs, ilens = torch.randn(2, 50, 20), torch.tensor([50, 33])
    clean, olens, _ = enc(xs, ilens)
    dirty, _, _ = enc(poison(xs, ilens), ilens)
    assert torch.isfinite(dirty).all()
    torch.testing.assert_close(dirty, clean)


@pytest.mark.parametrize("cls", [MambaDecoder, CrossMambaDecoder])
def test_nan_in_encoder_memory_padding_never_reaches_decoder_output(cls):
    dec = cls(6, 16, linear_units=16, num_blocks=1, d_state=4).eval()
    hs, hlens = torch.randn(2, 12, 16), torch.tensor([12, 7])
    ys, ylens = torch.tensor([[5, 2, 3], [5, 4, 4]]), torch.tensor([3, 2])
    clean, _ = dec(hs, hlens, ys, ylens)
    dirty, _ = dec(poison(hs, hlens), hlens, ys, ylens)
    assert torch.isfinite(dirty).all()
    torch.testing.assert_close(dirty, clean)


def test_nan_in_separator_padding_never_reaches_real_frames():
    sep = MambaSeparator(16, d_model=16, num_layers=2, d_state=4).eval()
    x, ilens = torch.rand(2, 40, 16), torch.tensor([40, 25])
    clean, _, _ = sep(x, ilens)
    dirty, _, _ = sep(poison(x, ilens), ilens)
    for c, d in zip(clean, dirty):
        assert torch.isfinite(d).all()  # padded frames are zero, so a decoder stays clean
        torch.testing.assert_close(d, c)


def test_nan_in_tts_target_padding_never_reaches_the_loss():
    tts = MambaTTS(8, 6, adim=16, num_blocks=1, d_state=4, dprenet_units=8,
                   postnet_units=8, postnet_layers=1).eval()
    text, tlens = torch.tensor([[1, 2, 3], [2, 3, 0]]), torch.tensor([3, 2])
    feats, flens = torch.randn(2, 20, 6), torch.tensor([20, 13])
    clean, _, _ = tts(text, tlens, feats, flens)
    dirty, _, _ = tts(text, tlens, poison(feats, flens), flens)
    assert torch.isfinite(dirty)
    torch.testing.assert_close(dirty, clean)


# ---------------------------------------------------------------- scan arguments
def scan_args(nb=2, dim=4, N=3, L=9):
    return dict(u=torch.randn(nb, dim, L), delta=torch.rand(nb, dim, L), A=-torch.rand(dim, N),
                B=torch.randn(nb, N, L), C=torch.randn(nb, N, L))


@pytest.mark.parametrize("name,value,match", [
    ("D", torch.ones(3), r"D must be \(dim=4,\); got \(3,\)"),
    ("D", torch.ones(4, 1), r"D must be \(dim=4,\)"),
    ("delta_bias", torch.ones(2), r"delta_bias must be \(dim=4,\); got \(2,\)"),
    ("z", torch.ones(2, 4, 1), r"z must be \(batch, dim, L\) like u"),
])
def test_scan_names_a_wrongly_shaped_argument(name, value, match):
    with pytest.raises(ValueError, match=match):
        selective_scan(**scan_args(), **{name: value})


@pytest.mark.parametrize("name", ["u", "delta", "B", "C"])
def test_scan_refuses_integer_tensors(name):
    args = scan_args()
    args[name] = args[name].round().long()
    with pytest.raises(TypeError, match=f"{name} must be a floating-point tensor; got torch.int64"):
        selective_scan(**args)


def test_scan_with_batch_zero_runs_forward_and_backward():
    args = {k: v.requires_grad_(True) for k, v in scan_args(nb=0).items()}
    y, last = selective_scan(**args, return_last_state=True)
    assert y.shape == (0, 4, 9) and last.shape == (0, 4, 3)
    (y.sum() + last.sum()).backward()
    assert args["A"].grad.shape == (4, 3) and (args["A"].grad == 0).all()


# ---------------------------------------------------------------- streaming input
@pytest.mark.parametrize("shape", [(160,), (1, 160), (160, 1)])
def test_streaming_takes_mono_chunks_in_every_common_layout(shape):
    samples = torch.linspace(-0.5, 0.5, 160)
    torch.testing.assert_close(as_mono_samples(samples.reshape(shape)), samples)


def test_streaming_scales_int16_and_int32_pcm_as_soundfile():
    pcm = np.array([-32768, 0, 16384, 32767], dtype=np.int16)
    torch.testing.assert_close(as_mono_samples(pcm),
                               torch.tensor([-1.0, 0.0, 0.5, 32767 / 32768]))
    torch.testing.assert_close(as_mono_samples(pcm.astype(np.int32) << 16),
                               torch.tensor([-1.0, 0.0, 0.5, 32767 / 32768]))


@pytest.mark.parametrize("samples,error,match", [
    (torch.zeros(2, 160), ValueError, r"mono chunk .*got shape \(2, 160\).*stereo"),
    (torch.zeros(160, 2), ValueError, r"got shape \(160, 2\)"),
    (torch.zeros(1, 2, 160), ValueError, r"got shape \(1, 2, 160\)"),
    (np.zeros(160, dtype=np.uint8), TypeError, "torch.uint8"),
    (torch.zeros(160, dtype=torch.int64), TypeError, "torch.int64"),
])
def test_streaming_refuses_what_it_cannot_take(samples, error, match):
    with pytest.raises(error, match=match):
        as_mono_samples(samples)
