"""Kaldi-style data dirs: tables, audio files and complete-or-absent output.

Every tool of the project reads and writes data through this package (no torch, no
ESPnet model code), and reports a bad input as one :class:`DataError` line naming the
file, line or utterance.
"""
from espnet_mamba.data.atomic import atomic_dir, atomic_write
from espnet_mamba.data.audio import declared_frames, read_mono
from espnet_mamba.data.errors import DataError
from espnet_mamba.data.tables import check_keys, read_table, spk2utt, write_table

__all__ = ["DataError", "atomic_dir", "atomic_write", "check_keys", "declared_frames",
           "read_mono", "read_table", "spk2utt", "write_table"]
