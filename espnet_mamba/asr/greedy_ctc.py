"""Greedy CTC over a stream, in plain Python (no torch): frame argmaxes in, token ids out,
repeats collapsed across chunk borders too.  Shared by the PyTorch and ONNX Runtime
streaming recognizers."""
from typing import Iterable, List


class GreedyCTC:
    """Collapse the per-frame best ids of a stream: drop blanks and repeats.

    Args:
        blank_id: The CTC blank.
    """

    def __init__(self, blank_id: int):
        self.blank_id = blank_id
        self.reset()

    def reset(self) -> None:
        """Start a new stream."""
        self.token_ids: List[int] = []
        self.last_id = self.blank_id

    def add(self, frame_ids: Iterable[int]) -> None:
        """The best id of each next frame."""
        for i in frame_ids:
            if i != self.last_id and i != self.blank_id:
                self.token_ids.append(i)
            self.last_id = i
