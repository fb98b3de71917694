"""Thin command-line tools of the recipes' stage scripts, one job each, named
``<verb>_<object>``; run ``python -m espnet_mamba.bin.<name> --help``.  The work is done
by the library packages (``data``, ``eval``, ``corpora``, ``asr``)."""
import argparse
import sys
from contextlib import contextmanager
from typing import Iterator

from espnet_mamba.data import DataError


@contextmanager
def reported(prog: str) -> Iterator[None]:
    """Turn a :class:`DataError` (bad input) into one ``<prog>: error: ...`` line on
    stderr and exit status 1."""
    try:
        yield
    except DataError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        raise SystemExit(1)


def add_corpus_options(parser: argparse.ArgumentParser) -> None:
    """The options every synthetic-corpus CLI shares: ``--seed``, ``--test_seed``,
    ``--test_name`` and ``--jobs``."""
    parser.add_argument("--seed", type=int, default=0,
                        help="a different seed gives a separately generated corpus")
    parser.add_argument("--test_seed", type=int, default=None,
                        help="write only a separately generated test set from this seed "
                             "(its sentences still unseen in --seed's train/dev)")
    parser.add_argument("--test_name", default="test", help="data dir name of the test set")
    parser.add_argument("--jobs", type=int, default=2,
                        help="synthesis processes (the audio depends on this number: see "
                             "espnet_mamba.corpora.espeak_engine)")
