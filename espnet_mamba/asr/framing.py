"""STFT framing of a sample stream in NumPy (no torch): the frames ESPnet's ``Stft``
cuts from the whole signal, cut as the samples arrive.

With a centred STFT the offline signal is reflect-padded by ``n_fft // 2`` at both ends;
the stream's start is padded as soon as ``pad + 1`` samples have arrived and its end in
:meth:`SampleFramer.finish`.  Between calls fewer than ``n_fft`` samples are held.
Shared by the PyTorch streaming recognizer and the ONNX Runtime one.
"""
import numpy as np


class SampleFramer:
    """Samples in, complete STFT frames ``(frames, n_fft)`` out.

    Args:
        n_fft: Frame length (the STFT's ``n_fft``; a shorter window is applied later).
        hop: Hop length.
        center: Whether the STFT is centred (reflect padding of ``n_fft // 2``).
    """

    def __init__(self, n_fft: int, hop: int, center: bool = True):
        self.n_fft, self.hop = n_fft, hop
        self.pad = n_fft // 2 if center else 0
        self.reset()

    def reset(self) -> None:
        """Start a new stream."""
        self.buffer = np.zeros(0, dtype=np.float32)
        self.started = self.pad == 0

    def accept(self, samples: np.ndarray) -> np.ndarray:
        """Add mono float samples (n,); return the frames they complete (possibly none)."""
        self.buffer = np.concatenate([self.buffer, np.asarray(samples, dtype=np.float32)])
        if not self.started:
            if self.buffer.size <= self.pad:  # the reflect pad needs pad + 1 samples
                return self._empty()
            self.buffer = np.concatenate([self.buffer[1:self.pad + 1][::-1], self.buffer])
            self.started = True
        return self._frames()

    def finish(self) -> np.ndarray:
        """The frames of the end of the stream (with the offline right padding); resets.

        A stream of at most ``n_fft // 2`` samples gives no frames (ESPnet's centred
        STFT rejects such a short signal).
        """
        frames = self._empty()
        if self.started:
            if self.pad:
                self.buffer = np.concatenate([self.buffer,
                                              self.buffer[-self.pad - 1:-1][::-1]])
            frames = self._frames()
        self.reset()
        return frames

    def held(self) -> int:
        """Samples held between calls (fewer than ``n_fft``, or ``pad`` before the start)."""
        return self.buffer.size

    def _empty(self) -> np.ndarray:
        return np.zeros((0, self.n_fft), dtype=np.float32)

    def _frames(self) -> np.ndarray:
        count = (self.buffer.size - self.n_fft) // self.hop + 1
        if count < 1:
            return self._empty()
        index = np.arange(count)[:, None] * self.hop + np.arange(self.n_fft)[None, :]
        frames = self.buffer[index]
        self.buffer = self.buffer[count * self.hop:]
        return frames
