"""Streaming ASR with a causal ``mamba`` encoder: audio chunks in, partial text out.

* :class:`StreamingFeatures` frames a sample stream as ESPnet's ``DefaultFrontend``
  frames the whole signal (same STFT frames, including the reflect padding at both ends
  when the STFT is centred), then applies log-mel and ``global_mvn``.
* :class:`StreamingMambaEncoder` feeds those features to
  :meth:`MambaEncoder.forward_chunk`, which keeps the frames the subsampling has not
  consumed and each layer's :class:`MambaState`.
* :class:`StreamingSpeech2Text` adds greedy CTC and ESPnet's token converter and
  tokenizer: each chunk returns the partial hypothesis.

Every buffer is bounded (fewer than ``n_fft`` samples, fewer than the subsampling's
receptive field + stride frames) and every state has a fixed size, so memory does not
grow with the length of the stream; only the hypothesis does.
"""
from pathlib import Path
from typing import List, NamedTuple, Optional, Union

import numpy as np
import torch
import torch.nn.functional as F
from espnet2.asr.frontend.default import DefaultFrontend
from espnet2.layers.global_mvn import GlobalMVN
from espnet2.layers.utterance_mvn import UtteranceMVN

from espnet_mamba.asr.encoder.mamba_encoder import MambaEncoder, MambaEncoderState
from espnet_mamba.asr.framing import SampleFramer
from espnet_mamba.asr.greedy_ctc import GreedyCTC
from espnet_mamba.ops.cpu_threads import single_threaded

# Integer PCM is scaled to [-1, 1) as soundfile reads it.
_PCM_SCALE = {torch.int16: 2.0 ** 15, torch.int32: 2.0 ** 31}


def as_mono_samples(samples: Union[torch.Tensor, np.ndarray]) -> torch.Tensor:
    """A chunk of a mono stream as float32 samples (n,).

    Accepts (n,), (1, n) (what ``torchaudio.load`` returns) and (n, 1) (``soundfile``);
    float audio as is, int16/int32 PCM scaled to [-1, 1).

    Raises:
        ValueError: more than one channel, or not 1-D/2-D.
        TypeError: another dtype (e.g. uint8, int64, complex, bool).
    """
    samples = torch.as_tensor(samples)
    if samples.dim() == 2 and 1 in samples.shape:
        samples = samples.reshape(-1)
    if samples.dim() != 1:
        raise ValueError(
            f"streaming takes a mono chunk shaped (n,), (1, n) or (n, 1); got shape "
            f"{tuple(samples.shape)} (for stereo, mix down or pick one channel first)")
    if samples.dtype in _PCM_SCALE:
        return samples.to(torch.float32) / _PCM_SCALE[samples.dtype]
    if not samples.is_floating_point():
        raise TypeError(f"streaming takes float or int16/int32 PCM samples; got {samples.dtype}")
    return samples.to(torch.float32)


def check_frame_features(frontend: torch.nn.Module, normalize: Optional[torch.nn.Module]) -> None:
    """Raise ValueError unless the features are computed frame by frame: ESPnet's
    ``DefaultFrontend`` with its STFT (no WPE/beamformer) and ``global_mvn`` or no
    normalization (``utterance_mvn`` needs the whole utterance)."""
    if not isinstance(frontend, DefaultFrontend) or frontend.stft is None:
        raise ValueError(
            f"frame-by-frame features need ESPnet's DefaultFrontend with its STFT "
            f"(frontend: default); got {type(frontend).__name__}"
        )
    enh = frontend.frontend
    if enh is not None and (getattr(enh, "use_wpe", False)
                            or getattr(enh, "use_beamformer", False)):
        raise ValueError("the frontend's WPE/beamformer needs the whole utterance")
    if isinstance(normalize, UtteranceMVN):
        raise ValueError(
            "normalize: utterance_mvn uses statistics of the whole utterance and "
            "cannot stream or be exported; train with normalize: global_mvn (or none)"
        )
    if normalize is not None and not isinstance(normalize, GlobalMVN):
        raise ValueError(
            f"only normalize: global_mvn or none work frame by frame; got "
            f"{type(normalize).__name__}"
        )
    if not frontend.stft.onesided:
        raise ValueError("frame-by-frame features need a one-sided STFT")


def stft_window(stft: torch.nn.Module) -> torch.Tensor:
    """ESPnet ``Stft``'s window over ``n_fft`` samples, float64: a shorter
    ``win_length`` centred as ``torch.stft`` does, ones without a window, times
    ``n_fft ** -0.5`` for a ``normalized`` STFT (as ``torch.stft``)."""
    win = stft.win_length or stft.n_fft
    window = (torch.ones(win, dtype=torch.float64) if stft.window is None
              else getattr(torch, f"{stft.window}_window")(win, dtype=torch.float64))
    left = (stft.n_fft - win) // 2
    window = F.pad(window, (left, stft.n_fft - win - left))
    return window / stft.n_fft ** 0.5 if stft.normalized else window


class StreamingFeatures:
    """Log-mel features of a sample stream, frame for frame as the offline frontend.

    Args:
        frontend: The model's ``DefaultFrontend`` (STFT -> power -> log-mel).
        normalize: The model's normalization: ``None`` or ``GlobalMVN`` (per frame).

    Raises:
        ValueError: the frontend or normalization needs the whole utterance
            (``utterance_mvn``, WPE or beamforming) or is not ESPnet's default one.
    """

    def __init__(self, frontend: DefaultFrontend, normalize: Optional[torch.nn.Module]):
        check_frame_features(frontend, normalize)
        self.frontend = frontend
        self.normalize = normalize
        stft = frontend.stft
        self.framer = SampleFramer(stft.n_fft, stft.hop_length, stft.center)
        self.device = frontend.logmel.melmat.device
        self.window = stft_window(stft).float().to(self.device)

    def reset(self) -> None:
        """Start a new stream."""
        self.framer.reset()

    def accept(self, samples: torch.Tensor) -> torch.Tensor:
        """Add samples (n,) of the stream; return the frames they complete,
        (1, frames, n_mels), possibly none."""
        return self._features(self.framer.accept(samples.detach().cpu().numpy()))

    def finish(self) -> torch.Tensor:
        """Frames of the end of the stream (with the offline right padding); resets.

        A stream of at most ``n_fft // 2`` samples gives no frames (ESPnet's
        centred STFT rejects such a short signal).
        """
        return self._features(self.framer.finish())

    def _features(self, frames: np.ndarray) -> torch.Tensor:
        """STFT frames of samples (count, n_fft) -> features (1, count, n_mels)."""
        count = frames.shape[0]
        if count == 0:
            return torch.zeros(1, 0, self.frontend.output_size(), device=self.device)
        spec = torch.fft.rfft(torch.from_numpy(frames).to(self.device) * self.window)
        power = (spec.real ** 2 + spec.imag ** 2)[None]
        feats, lengths = self.frontend.logmel(power, torch.tensor([count], device=self.device))
        if self.normalize is not None:
            feats, _ = self.normalize(feats, lengths)
        return feats

    def state_numel(self) -> int:
        """Samples held between calls (bounded by ``n_fft``)."""
        return self.framer.held()


class StreamingMambaEncoder:
    """Audio chunks -> encoder output frames of an ASR model with a causal ``mamba``
    encoder, carrying the frontend, subsampling and layer states between chunks.

    Args:
        asr_model: ESPnet ``ESPnetASRModel`` with ``encoder: mamba`` and
            ``bidirectional: false``, the default frontend and ``global_mvn`` or no
            normalization, and no pre-/post-encoder.

    Raises:
        ValueError: a part of the model cannot stream.
    """

    def __init__(self, asr_model: torch.nn.Module):
        encoder = asr_model.encoder
        if not isinstance(encoder, MambaEncoder):
            raise ValueError(
                f"streaming needs encoder: mamba; got {type(encoder).__name__}")
        if encoder.bidirectional:
            raise ValueError(
                "streaming needs a causal encoder (encoder_conf: bidirectional: false); "
                "this one is bidirectional and needs the whole utterance"
            )
        for name in ("preencoder", "postencoder"):
            if getattr(asr_model, name, None) is not None:
                raise ValueError(f"streaming does not support a {name}")
        self.model = asr_model.eval()
        self.encoder = encoder
        self.features = StreamingFeatures(asr_model.frontend, asr_model.normalize)
        self.state: Optional[MambaEncoderState] = None

    def reset(self) -> None:
        """Start a new stream."""
        self.features.reset()
        self.state = None

    @torch.no_grad()
    def accept(self, samples: torch.Tensor) -> torch.Tensor:
        """Add samples (n,); return the encoder frames they complete, (frames, output_size)."""
        return self._encode(self.features.accept(samples))

    @torch.no_grad()
    def finish(self) -> torch.Tensor:
        """Encoder frames of the end of the stream, (frames, output_size); resets."""
        out = self._encode(self.features.finish())
        self.state = None
        return out

    def _encode(self, feats: torch.Tensor) -> torch.Tensor:
        device = next(self.encoder.parameters()).device
        with single_threaded():  # a chunk is too little work to share
            out, self.state = self.encoder.forward_chunk(feats.to(device), self.state,
                                                         ctc=self.model.ctc)
        return out[0]

    def state_numel(self) -> int:
        """Elements held between chunks: samples, frames and layer states."""
        total = self.features.state_numel()
        if self.state is not None:
            total += self.state.frames.numel()
            total += sum(t.numel() for s in self.state.layers for t in s)
        return total


class StreamingResult(NamedTuple):
    """A (partial) hypothesis: text (``None`` without a tokenizer), tokens and ids."""

    text: Optional[str]
    tokens: List[str]
    token_ids: List[int]


class StreamingSpeech2Text:
    """Streaming greedy-CTC recognizer for ASR models with a causal ``mamba`` encoder.

    Call it with each audio chunk for the partial hypothesis, then :meth:`finish`.
    The final hypothesis equals greedy CTC on the offline encoder output.

    Args:
        asr_model: ESPnet ASR model (see :class:`StreamingMambaEncoder`).
        token_list: The model's token list (CTC output ids -> tokens).
        tokenizer: ESPnet tokenizer turning tokens into text; ``None`` leaves text
            ``None``.
    """

    def __init__(self, asr_model: torch.nn.Module, token_list: List[str], tokenizer=None):
        from espnet2.text.token_id_converter import TokenIDConverter

        self.encoder = StreamingMambaEncoder(asr_model)
        self.ctc = asr_model.ctc
        self.ctc_search = GreedyCTC(asr_model.blank_id)
        self.converter = TokenIDConverter(token_list=token_list)
        self.tokenizer = tokenizer
        self.reset()

    @classmethod
    def from_files(cls, asr_train_config: Union[str, Path], asr_model_file: Union[str, Path],
                   device: str = "cpu") -> "StreamingSpeech2Text":
        """Load a trained model as ``Speech2Text`` does.

        Args:
            asr_train_config: The training ``config.yaml``.
            asr_model_file: The model weights (``*.pth``).
            device: Torch device of the model.
        """
        from espnet2.tasks.asr import ASRTask
        from espnet2.text.build_tokenizer import build_tokenizer

        model, args = ASRTask.build_model_from_file(asr_train_config, asr_model_file, device)
        token_type = getattr(args, "token_type", None)
        bpemodel = getattr(args, "bpemodel", None)
        if token_type is None or (token_type == "bpe" and bpemodel is None):
            tokenizer = None
        else:
            tokenizer = build_tokenizer(token_type=token_type, bpemodel=bpemodel)
        return cls(model, model.token_list, tokenizer)

    @property
    def sample_rate(self) -> int:
        """Sampling rate the model's frontend expects."""
        return int(self.encoder.features.frontend.logmel.mel_options["sr"])

    def reset(self) -> None:
        """Start a new stream."""
        self.encoder.reset()
        self.ctc_search.reset()

    def __call__(self, samples: Union[torch.Tensor, np.ndarray],
                 sample_rate: Optional[int] = None) -> StreamingResult:
        """Add a chunk of samples; return the partial hypothesis.

        Args:
            samples: Mono audio, (n,), (1, n) or (n, 1); float, or int16/int32 PCM
                (scaled to [-1, 1), as soundfile reads it).
            sample_rate: The chunk's sampling rate, checked against the model's
                (:attr:`sample_rate`) when given.

        Raises:
            ValueError: stereo or other shapes; a sampling rate other than the model's.
            TypeError: samples of another dtype.
        """
        if sample_rate is not None and sample_rate != self.sample_rate:
            raise ValueError(f"the model expects {self.sample_rate} Hz audio; got "
                             f"{sample_rate} Hz (resample first, e.g. with "
                             "torchaudio.functional.resample)")
        self._decode(self.encoder.accept(as_mono_samples(samples)))
        return self.result()

    def finish(self) -> StreamingResult:
        """Decode the end of the stream; return the final hypothesis and reset."""
        self._decode(self.encoder.finish())
        result = self.result()
        self.reset()
        return result

    @torch.no_grad()
    def _decode(self, enc: torch.Tensor) -> None:
        if enc.shape[0] == 0:
            return
        self.ctc_search.add(self.ctc.argmax(enc[None])[0].tolist())

    def result(self) -> StreamingResult:
        """The hypothesis so far."""
        token_ids = self.ctc_search.token_ids
        tokens = self.converter.ids2tokens(token_ids)
        text = None if self.tokenizer is None else self.tokenizer.tokens2text(tokens)
        return StreamingResult(text, tokens, list(token_ids))
