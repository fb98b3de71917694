"""Run exported models with ONNX Runtime and NumPy only (no torch import).

:class:`OnnxStreamingASR` transcribes a sample stream chunk by chunk with the graphs of
``python -m espnet_mamba.export onnx --kind streaming``: the framing of
:class:`~espnet_mamba.asr.framing.SampleFramer`, ``frontend.onnx`` per STFT frame,
then ``streaming_asr.onnx`` whenever a whole number of subsampled frames is ready
(the first ``cache_frames`` feature frames of a stream become the carried frames),
and greedy CTC that collapses repeats across chunk borders.
"""
import json
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Union

import numpy as np

from espnet_mamba.asr.framing import SampleFramer
from espnet_mamba.asr.greedy_ctc import GreedyCTC


class OnnxResult(NamedTuple):
    """A (partial) hypothesis: text, tokens and token ids."""

    text: str
    tokens: List[str]
    token_ids: List[int]


def read_config(model_dir: Union[str, Path], kind: str) -> Dict:
    """``config.json`` of an exported model dir, checked to be of ``kind``.

    Raises:
        FileNotFoundError: no ``config.json`` in ``model_dir``.
        ValueError: a config of another kind or format.
    """
    path = Path(model_dir) / "config.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file (export the model first: python -m "
                                "espnet_mamba.export onnx ...)")
    config = json.loads(path.read_text(encoding="utf-8"))
    if config.get("format") != 1 or config.get("kind") != kind:
        raise ValueError(f"{path}: a model of kind {config.get('kind')!r} (format "
                         f"{config.get('format')!r}); this needs kind {kind!r}, format 1")
    return config


def tokens_to_text(tokens: List[str], token_type: Optional[str]) -> str:
    """Text of tokens as ESPnet's tokenizers join them (char: ``<space>`` is a space;
    bpe: sentencepiece's ``▁`` starts a word; word: spaces between)."""
    if token_type == "bpe":
        return "".join(tokens).replace("\u2581", " ").strip()
    if token_type == "word":
        return " ".join(tokens)
    return "".join(" " if t == "<space>" else t for t in tokens)


class OnnxStreamingASR:
    """Streaming greedy-CTC recognizer on ONNX Runtime.

    Args:
        model_dir: Output dir of the streaming export.
        threads: ONNX Runtime intra-op threads (1 suits one stream per core).

    Call it with each chunk of mono float samples at :attr:`sample_rate` for the
    partial hypothesis, then :meth:`finish` for the final one.
    """

    def __init__(self, model_dir: Union[str, Path], threads: int = 1):
        import onnxruntime

        self.config = config = read_config(model_dir, "streaming")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1

        def session(name: str):
            return onnxruntime.InferenceSession(str(Path(model_dir) / name), options,
                                                providers=["CPUExecutionProvider"])

        front = config["frontend"]
        self.frontend = session(front["graph"])
        self.model = session(config["graph"])
        self.sample_rate = int(front["sample_rate"])
        self.framer = SampleFramer(front["n_fft"], front["hop_length"], front["center"])
        self.stride, self.cache_frames = config["stride"], config["cache_frames"]
        self.feats_size = front["feats_size"]
        self.ctc_search = GreedyCTC(config["blank_id"])
        self.reset()

    def reset(self) -> None:
        """Start a new stream."""
        self.framer.reset()
        self.pending = np.zeros((0, self.feats_size), dtype=np.float32)
        self.cache: Optional[np.ndarray] = None
        self.states = {s["name"]: np.zeros(s["shape"], dtype=np.float32)
                       for s in self.config["states"]}
        self.ctc_search.reset()

    def __call__(self, samples: np.ndarray) -> OnnxResult:
        """Add mono float samples (n,); return the hypothesis so far."""
        samples = np.asarray(samples)
        if samples.ndim != 1:
            raise ValueError(f"a mono chunk shaped (n,) is needed; got shape {samples.shape}")
        self._features(self.framer.accept(samples))
        return self.result()

    def finish(self) -> OnnxResult:
        """Decode the end of the stream; return the final hypothesis and reset.

        Fewer than ``stride`` trailing feature frames complete no output frame and are
        dropped, as the offline subsampling drops them."""
        self._features(self.framer.finish())
        result = self.result()
        self.reset()
        return result

    def _features(self, frames: np.ndarray) -> None:
        if frames.shape[0]:
            feats = self.frontend.run(None, {"frames": frames})[0]
            self.pending = np.concatenate([self.pending, feats])
        if self.cache is None:
            if self.pending.shape[0] < self.cache_frames:
                return
            self.cache = self.pending[None, :self.cache_frames]
            self.pending = self.pending[self.cache_frames:]
        usable = self.pending.shape[0] // self.stride * self.stride
        if usable == 0:
            return
        outputs = self.model.run(None, {"feats": self.pending[None, :usable],
                                        "cache": self.cache, **self.states})
        self.pending = self.pending[usable:]
        logp, self.cache = outputs[0], outputs[1]
        self.states = dict(zip(self.states, outputs[2:]))
        self.ctc_search.add(logp[0].argmax(-1).tolist())

    def result(self) -> OnnxResult:
        """The hypothesis so far."""
        token_ids = list(self.ctc_search.token_ids)
        tokens = [self.config["token_list"][i] for i in token_ids]
        return OnnxResult(tokens_to_text(tokens, self.config["token_type"]), tokens, token_ids)
