"""Open-vocabulary English sentences: the usage examples of WordNet 3.0.

Debian's ``wordnet-base`` package (``apt-get install wordnet-base``; Princeton's WordNet
3.0 licence: use, copy, modify and distribute for any purpose with the copyright notice)
installs the database as ``/usr/share/wordnet/data.{noun,verb,adj,adv}``.  Each synset
line ends in ``| gloss``, and the gloss holds its usage examples in double quotes
(``"he sat in the back of the room"``): 48,339 of them, written by lexicographers as
ordinary modern English.  :func:`sentences` keeps those that normalize to 5-16 words of
letters (with inner apostrophes), upper-cased like the grammar corpus: 28,309 distinct
sentences, 214,397 words, a vocabulary of 24,850 words.
"""
import re
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from espnet_mamba.data import DataError

WORDNET_DIR = Path("/usr/share/wordnet")
PARTS = ("noun", "verb", "adj", "adv")
LICENCE = "WordNet 3.0 (Princeton University; WordNet 3.0 licence), Debian wordnet-base"

_EXAMPLE = re.compile(r'"([^"]+)"')
_ALLOWED = re.compile(r"[A-Za-z '\-,.;:!?]+")
_WORD = re.compile(r"[A-Z]+('[A-Z]+)?")


def normalize(text: str, min_words: int = 5, max_words: int = 16) -> Optional[str]:
    """``text`` upper-cased, hyphens as spaces, punctuation dropped; None when it holds
    digits or other symbols, a word that is not letters with an inner apostrophe, or a
    word count outside ``[min_words, max_words]``."""
    if not _ALLOWED.fullmatch(text):
        return None
    words = re.sub(r"[-,.;:!?]", " ", text).upper().split()
    if not min_words <= len(words) <= max_words or not all(_WORD.fullmatch(w) for w in words):
        return None
    return " ".join(words)


def examples(lines: Iterable[str]) -> List[str]:
    """The quoted usage examples of WordNet ``data.*`` lines (licence lines skipped)."""
    out = []
    for line in lines:
        if line.startswith("  "):  # the licence header
            continue
        _, bar, gloss = line.partition("|")
        if bar:
            out += _EXAMPLE.findall(gloss)
    return out


def sentences(root: Path = WORDNET_DIR) -> List[str]:
    """The distinct normalized example sentences of the WordNet database in ``root``,
    in file order (noun, verb, adj, adv).

    Raises:
        DataError: a ``data.*`` file is missing (naming it and the Debian package).
    """
    found: Dict[str, None] = {}
    for part in PARTS:
        path = Path(root) / f"data.{part}"
        if not path.is_file():
            raise DataError(f"WordNet database file {path} not found: apt-get install "
                            "wordnet-base, or give the folder holding data.noun etc.")
        with open(path, encoding="latin-1") as f:
            for text in examples(f):
                norm = normalize(text)
                if norm is not None:
                    found[norm] = None
    return list(found)


def oov_rates(train: Sequence[str], test: Sequence[str]) -> Tuple[float, float]:
    """(share of ``test`` word tokens absent from ``train``'s words, share of ``test``
    sentences holding at least one such word)."""
    vocab = {w for text in train for w in text.split()}
    words = [w for text in test for w in text.split()]
    if not words:
        return 0.0, 0.0
    tokens = sum(w not in vocab for w in words) / len(words)
    with_oov = sum(any(w not in vocab for w in text.split()) for text in test) / len(test)
    return tokens, with_oov
