"""Audio files of a data dir: one reader (mono, optional rate check) and the frame count
a header declares."""
import re
import struct
from typing import Optional, Tuple

import numpy as np
import soundfile as sf

from espnet_mamba.data.errors import DataError


def read_mono(path: str, what: str = "audio", utt: Optional[str] = None,
              rate: Optional[int] = None, channel: Optional[int] = None
              ) -> Tuple[np.ndarray, int]:
    """The float64 samples of a mono audio file and its sampling rate.

    Args:
        path: Any file soundfile reads (WAV, FLAC, NIST SPHERE, ...).
        what: What the file is, for the error messages ("reference", "RIR", ...).
        utt: The utterance it belongs to, named first in the error messages.
        rate: The sampling rate it must have (None: any).
        channel: Take this channel of a multi-channel file (None: it must be mono).

    Raises:
        DataError: an unreadable or missing file, a multi-channel file without
            ``channel``, or another sampling rate than ``rate``.
    """
    where = f"{utt}: " if utt else ""
    try:
        audio, fs = sf.read(path, dtype="float64", always_2d=True)
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise DataError(f"{where}cannot read {what} {path}: {exc}") from None
    if channel is None and audio.shape[1] != 1:
        raise DataError(f"{where}{what} {path} has {audio.shape[1]} channels; need mono audio")
    if channel is not None and not 0 <= channel < audio.shape[1]:
        raise DataError(f"{where}{what} {path} has no channel {channel} "
                        f"({audio.shape[1]} channel(s))")
    if rate is not None and fs != rate:
        raise DataError(f"{where}{what} {path} is at {fs} Hz, need {rate} Hz; resample it")
    return audio[:, channel or 0], fs


def declared_frames(path: str) -> Optional[int]:
    """The frame count a WAV or NIST SPHERE header declares (libsndfile reports the
    frames actually present, so it cannot tell a truncated file); None for other
    formats (their decoders fail on truncation) or an unknown length."""
    with open(path, "rb") as f:
        head = f.read(12)
        if head[:4] == b"NIST":
            f.seek(0)
            header = f.read(1024).decode("ascii", "replace")
            match = re.search(r"^sample_count -i (\d+)", header, re.M)
            return int(match.group(1)) if match else None
        if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        block_align = None
        while chunk := f.read(8):
            if len(chunk) < 8:
                return None
            size = struct.unpack("<I", chunk[4:])[0]
            if chunk[:4] == b"fmt ":
                block_align = struct.unpack("<H", f.read(size)[12:14])[0]
                size = 0
            elif chunk[:4] == b"data":
                unknown = size in (0, 0xFFFFFFFF) or not block_align
                return None if unknown else size // block_align
            f.seek(size + (size & 1), 1)
    return None

