"""The PyTorch modules that become ONNX graphs: plain tensors in, plain tensors out.

* :class:`FeatureGraph`: STFT frames of samples -> the model's normalized log-mel
  features (window, DFT as two matrix products, power, mel, log, ``global_mvn``).
* :class:`StreamingASRGraph`: one chunk of a causal ``mamba`` ASR model: feature frames,
  the subsampling's carried frames and every layer's state in; CTC log-probabilities,
  the carried frames and the states out.
* :class:`EncoderGraph`: an offline ASR encoder (+ CTC log-probabilities) over padded
  feature batches.
* :class:`SeparatorGraph`: an enhancement model (encoder, separator, decoder) from
  mixture to separated waveforms.
"""
import math
from typing import List, Tuple

import torch

from espnet_mamba.asr.encoder.mamba_encoder import MambaEncoder, MambaEncoderState
from espnet_mamba.asr.encoder.subsampling import receptive_field
from espnet_mamba.asr.streaming import check_frame_features, stft_window


class ExportError(ValueError):
    """A model (or a part of it) that these graphs cannot express."""


class FeatureGraph(torch.nn.Module):
    """(frames, n_fft) samples -> (frames, n_mels) features, as the model's frontend
    and normalization compute them for the same STFT frames.

    Args:
        frontend: ESPnet's ``DefaultFrontend`` (no WPE/beamformer).
        normalize: ``GlobalMVN`` or ``None``.

    Raises:
        ExportError: features that are not computed frame by frame (see
            :func:`espnet_mamba.asr.streaming.check_frame_features`).
    """

    def __init__(self, frontend: torch.nn.Module, normalize: torch.nn.Module = None):
        super().__init__()
        try:
            check_frame_features(frontend, normalize)
        except ValueError as exc:
            raise ExportError(str(exc)) from exc
        stft = frontend.stft
        n_fft = stft.n_fft
        window = stft_window(stft)
        k = torch.arange(n_fft, dtype=torch.float64)[:, None]
        f = torch.arange(n_fft // 2 + 1, dtype=torch.float64)[None, :]
        angle = 2 * math.pi * k * f / n_fft
        self.register_buffer("dft_real", (window[:, None] * torch.cos(angle)).float())
        self.register_buffer("dft_imag", (-window[:, None] * torch.sin(angle)).float())
        self.logmel = frontend.logmel
        mean = std = None
        if normalize is not None:
            mean = normalize.mean if normalize.norm_means else None
            std = normalize.std if normalize.norm_vars else None
        self.register_buffer("mean", None if mean is None else mean.float().clone())
        self.register_buffer("std", None if std is None else std.float().clone())
        self.n_fft, self.hop = n_fft, stft.hop_length

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        power = (frames @ self.dft_real) ** 2 + (frames @ self.dft_imag) ** 2
        feats, _ = self.logmel(power[None])
        feats = feats[0]
        if self.mean is not None:
            feats = feats - self.mean
        if self.std is not None:
            feats = feats / self.std
        return feats


class StreamingASRGraph(torch.nn.Module):
    """One chunk of a causal ``mamba`` encoder + CTC.

    ``forward(feats, cache, *states) -> (logp, cache, *states)``:
    feats (1, S*m, input_size) with S the subsampling's stride and m >= 1; cache
    (1, R - S, input_size), the frames carried from the previous chunk (R the receptive
    field), at the start of a stream the stream's first R - S frames; states each
    layer's state tensors (zeros at the start, shapes :attr:`state_shapes`).  Returns
    logp (1, m, vocab) and the carried frames and states for the next chunk.  Fed that
    way, the carried frames keep their size and the chunks' outputs equal the offline
    causal encoder's.

    Raises:
        ExportError: not a causal ``mamba`` encoder, or a pre-/post-encoder.
    """

    def __init__(self, asr_model: torch.nn.Module):
        super().__init__()
        encoder = asr_model.encoder
        if not isinstance(encoder, MambaEncoder) or encoder.bidirectional:
            raise ExportError(
                "a streaming graph needs encoder: mamba with bidirectional: false; got "
                f"{type(encoder).__name__}"
                + (" (bidirectional)" if getattr(encoder, "bidirectional", False) else ""))
        for name in ("preencoder", "postencoder"):
            if getattr(asr_model, name, None) is not None:
                raise ExportError(f"a streaming graph does not support a {name}")
        self.encoder, self.ctc = encoder, asr_model.ctc
        self.field, self.stride = receptive_field(encoder.embed.convs)
        states = [layer.mixer.allocate_inference_cache(1) for layer in encoder.encoders]
        self.state_types = [type(s) for s in states]
        self.state_shapes: List[Tuple[str, Tuple[int, ...]]] = [
            (f"layer{i}_{field}", tuple(t.shape))
            for i, s in enumerate(states) for field, t in zip(s._fields, s)]

    @property
    def cache_frames(self) -> int:
        return self.field - self.stride

    def forward(self, feats: torch.Tensor, cache: torch.Tensor, *states: torch.Tensor):
        layers, i = [], 0
        for kind in self.state_types:
            n = len(kind._fields)
            layers.append(kind(*states[i:i + n]))
            i += n
        out, state = self.encoder.forward_chunk(
            feats, MambaEncoderState(cache, tuple(layers)), ctc=self.ctc)
        return (self.ctc.log_softmax(out), state.frames,
                *[t for s in state.layers for t in s])


class EncoderGraph(torch.nn.Module):
    """``forward(feats, feats_lengths) -> (encoder_out, encoder_out_lens, ctc_logp)``
    of an ASR model's encoder over a padded batch (features after the frontend and
    normalization)."""

    def __init__(self, asr_model: torch.nn.Module):
        super().__init__()
        for name in ("preencoder", "postencoder"):
            if getattr(asr_model, name, None) is not None:
                raise ExportError(f"the encoder graph does not support a {name}")
        self.encoder, self.ctc = asr_model.encoder, asr_model.ctc

    def forward(self, feats: torch.Tensor, feats_lengths: torch.Tensor):
        out, lens, _ = self.encoder(feats, feats_lengths, ctc=self.ctc)
        if isinstance(out, tuple):  # intermediate CTC outputs
            out = out[0]
        return out, lens, self.ctc.log_softmax(out)


class SeparatorGraph(torch.nn.Module):
    """``forward(speech_mix, lengths) -> speech (batch, num_spk, samples)`` of an ESPnet
    enhancement model with ESPnet's time-domain ``conv`` encoder and decoder.  The
    batch is padded to a multiple of the encoder's stride (:attr:`stride`), the
    smallest one that holds its longest mixture.

    Raises:
        ExportError: another encoder or decoder.
    """

    def __init__(self, enh_model: torch.nn.Module):
        super().__init__()
        from espnet2.enh.decoder.conv_decoder import ConvDecoder
        from espnet2.enh.encoder.conv_encoder import ConvEncoder

        if not isinstance(enh_model.encoder, ConvEncoder) or not isinstance(
                enh_model.decoder, ConvDecoder):
            raise ExportError(
                "the separator graph needs encoder: conv and decoder: conv; got "
                f"{type(enh_model.encoder).__name__} and {type(enh_model.decoder).__name__}")
        self.encoder, self.separator = enh_model.encoder, enh_model.separator
        self.convtrans1d = enh_model.decoder.convtrans1d
        self.stride, self.kernel_size = enh_model.encoder.stride, enh_model.encoder.kernel_size

    def forward(self, speech_mix: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        feats, flens = self.encoder(speech_mix, lengths)
        masked, _, _ = self.separator(feats, flens)
        # ESPnet's ConvDecoder sizes its output by lengths.max(), a value export cannot
        # read: the padded length stands for it
        size = (speech_mix.shape[0], 1, speech_mix.shape[1])
        return torch.stack([self.convtrans1d(m.transpose(1, 2), output_size=size)[:, 0]
                            for m in masked], dim=1)
