"""Teacher durations for ``mamba_fastspeech`` by CTC forced alignment with an ASR model.

The ASR model's CTC posteriors of an utterance are aligned with its token sequence
(torchaudio's ``forced_align``, the Viterbi path; ``merge_tokens`` gives each token's
span of ASR frames).  A token's time runs from the middle of the blank stretch before
its span to the middle of the one after it; the first token starts at 0 (leading
silence) and ``<sos/eos>`` gets the stretch after the last token's span (trailing
silence).  These boundaries are scaled from ASR frames to TTS frames and rounded, so the
durations sum exactly to the utterance's mel length, ``1 + samples // hop`` for ESPnet's
centred STFT front-ends.
"""
import inspect
from typing import List, Sequence, Tuple

import torch
import torchaudio.functional as taF

from espnet_mamba.data import DataError


def takes_durations(tts: str) -> bool:
    """Whether the ESPnet ``tts`` choice named ``tts`` (e.g. ``fastspeech``,
    ``mamba_fastspeech``) trains on teacher durations: its ``forward`` takes them.

    Raises:
        ValueError: ``tts`` is not a choice of ESPnet's TTS task.
    """
    import espnet_mamba  # noqa: F401  (registers the project's TTS models)
    from espnet2.tasks.tts import tts_choices

    return "durations" in inspect.signature(tts_choices.get_class(tts).forward).parameters


def token_spans(log_probs: torch.Tensor, targets: Sequence[int], blank: int = 0
                ) -> List[Tuple[int, int]]:
    """``(start, end)`` ASR frames (end exclusive) of each of ``targets`` on the CTC
    Viterbi path of ``log_probs`` (T, vocab).

    Raises:
        DataError: fewer frames than the targets need (with a blank between repeats).
    """
    repeats = sum(a == b for a, b in zip(targets, targets[1:]))
    if len(targets) == 0 or log_probs.shape[0] < len(targets) + repeats:
        raise DataError(f"{log_probs.shape[0]} ASR frames cannot hold {len(targets)} "
                        f"tokens ({repeats} repeats)")
    aligned, scores = taF.forced_align(log_probs[None].float().cpu(),
                                       torch.tensor([list(targets)], dtype=torch.int32),
                                       blank=blank)
    spans = taF.merge_tokens(aligned[0], scores[0].exp(), blank=blank)
    return [(span.start, span.end) for span in spans]


def durations(spans: Sequence[Tuple[int, int]], asr_frames: int, tts_frames: int
              ) -> List[int]:
    """TTS frames of each token and of ``<sos/eos>`` (``len(spans) + 1`` values summing
    to ``tts_frames``), from token spans over ``asr_frames`` ASR frames."""
    bounds = [0.0]
    bounds += [(end + start) / 2 for (_, end), (start, _) in zip(spans, spans[1:])]
    bounds += [float(spans[-1][1]), float(asr_frames)]
    frames = [min(tts_frames, round(b * tts_frames / asr_frames)) for b in bounds]
    frames[-1] = tts_frames
    for i in range(1, len(frames)):  # monotone after rounding
        frames[i] = max(frames[i], frames[i - 1])
    return [b - a for a, b in zip(frames, frames[1:])]
