"""WER and CER with sclite-style alignments (``result.txt``), from kaldialign.

For each unit (``wer``: words, ``cer``: characters, a space counted as the token
``<space>`` as ESPnet does) :func:`write_score_dir` writes ``score_<unit>/`` with
``ref.trn``/``hyp.trn`` (sclite's trn format), ``result.txt`` (one ``REF``/``HYP``/``Eval``
block per utterance, ``***`` for a gap, then the ``Sum/Avg`` table) and ``summary.json``
(the counts, read by :mod:`espnet_mamba.eval.results`).  The alignment is kaldialign's
minimum edit-distance alignment (Kaldi's ``align-text``); the error count of an
utterance is its edit distance whichever of several equally cheap alignments is taken.
"""
import json
import os
from dataclasses import asdict, dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import kaldialign

from espnet_mamba.data import DataError

# One aligned position: (op, ref token or None, hyp token or None); op is C, S, D or I.
Step = Tuple[str, Optional[str], Optional[str]]
GAP = "\0"  # kaldialign's gap symbol: no token of a Kaldi text holds a NUL


@dataclass
class Counts:
    """Error counts over a set of utterances (sclite's Snt, Wrd, Corr, Sub, Del, Ins)."""

    snt: int = 0
    wrd: int = 0
    corr: int = 0
    sub: int = 0
    dele: int = 0
    ins: int = 0
    snt_err: int = 0

    @property
    def err(self) -> int:
        return self.sub + self.dele + self.ins

    def add(self, steps: Sequence[Step]) -> None:
        """Count one aligned utterance."""
        ops = [op for op, _, _ in steps]
        self.snt += 1
        self.wrd += sum(op != "I" for op in ops)
        self.corr += ops.count("C")
        self.sub += ops.count("S")
        self.dele += ops.count("D")
        self.ins += ops.count("I")
        self.snt_err += any(op != "C" for op in ops)

    def percentages(self) -> Dict[str, float]:
        """Corr/Sub/Del/Ins/Err as % of reference tokens, S.Err as % of sentences."""
        def pct(n: int, total: int) -> float:
            return 100.0 * n / total if total else 0.0

        return {"Corr": pct(self.corr, self.wrd), "Sub": pct(self.sub, self.wrd),
                "Del": pct(self.dele, self.wrd), "Ins": pct(self.ins, self.wrd),
                "Err": pct(self.err, self.wrd), "S.Err": pct(self.snt_err, self.snt)}


def align(ref: Sequence[str], hyp: Sequence[str]) -> List[Step]:
    """Minimum edit-distance alignment of two token sequences (kaldialign)."""
    steps: List[Step] = []
    for r, h in kaldialign.align(list(ref), list(hyp), GAP):
        if r == GAP:
            steps.append(("I", None, h))
        elif h == GAP:
            steps.append(("D", r, None))
        else:
            steps.append(("C" if r == h else "S", r, h))
    return steps


def words(text: str) -> List[str]:
    """Word tokens."""
    return text.split()


def chars(text: str) -> List[str]:
    """Character tokens; each run of whitespace between words becomes ``<space>``."""
    return ["<space>" if c == " " else c for c in " ".join(text.split())]


def letters(text: str) -> List[str]:
    """Character tokens without the spaces (a CER that word boundaries do not weigh)."""
    return [c for c in text if not c.isspace()]


UNITS: Dict[str, Callable[[str], List[str]]] = {"wer": words, "cer": chars}


def format_block(utt: str, steps: Sequence[Step]) -> str:
    """One utterance's alignment in sclite's ``pralign`` layout."""
    counts = Counts()
    counts.add(steps)
    ref_cols, hyp_cols, eval_cols = [], [], []
    for op, r, h in steps:
        width = max(len(r or ""), len(h or ""), 1)
        ref_cols.append((r or "*" * width).ljust(width))
        hyp_cols.append((h or "*" * width).ljust(width))
        eval_cols.append(("" if op == "C" else op).ljust(width))
    return "\n".join([
        f"id: ({utt})",
        f"Scores: (#C #S #D #I) {counts.corr} {counts.sub} {counts.dele} {counts.ins}",
        ("REF:  " + " ".join(ref_cols)).rstrip(),
        ("HYP:  " + " ".join(hyp_cols)).rstrip(),
        ("Eval: " + " ".join(eval_cols)).rstrip(),
        "",
    ])


def format_summary(counts: Counts) -> str:
    """The sclite-style ``Sum/Avg`` table (percentages, one decimal)."""
    pct = counts.percentages()
    header = "| SPKR    | # Snt  # Wrd |" + "".join(f" {c:>6}" for c in pct) + " |"
    row = (f"| Sum/Avg | {counts.snt:5d} {counts.wrd:6d} |"
           + "".join(f" {v:6.1f}" for v in pct.values()) + " |")
    rule = "|" + "-" * (len(header) - 2) + "|"
    return "\n".join([rule, header, rule, row, rule, ""])


def score(refs: Dict[str, str], hyps: Dict[str, str],
          tokenize: Callable[[str], List[str]]) -> Tuple[Counts, Dict[str, List[Step]]]:
    """Align every reference utterance with its hypothesis; totals and alignments.

    Raises:
        DataError: a reference utterance without a hypothesis.
    """
    missing = sorted(set(refs) - set(hyps))
    if missing:
        raise DataError(f"{len(missing)} reference utterance(s) have no hypothesis, "
                        f"e.g. {missing[0]}")
    counts = Counts()
    alignments = {}
    for utt in sorted(refs):
        alignments[utt] = align(tokenize(refs[utt]), tokenize(hyps[utt]))
        counts.add(alignments[utt])
    return counts, alignments


def vocabulary_split(alignments: Dict[str, List[Step]], vocab: set) -> Dict[str, Counts]:
    """Word counts split by the reference word: ``in_vocab`` (in ``vocab``, e.g. the
    training text's words) and ``oov``.  Each correct, substituted or deleted reference
    word counts in its class; insertions belong to no reference word and count in
    neither, so ``Err`` here is (Sub + Del) / reference words of the class."""
    split = {"in_vocab": Counts(), "oov": Counts()}
    for steps in alignments.values():
        for cls in split:
            split[cls].add([step for step in steps if step[0] != "I"
                            and (step[1] in vocab) == (cls == "in_vocab")])
    for counts in split.values():  # sentences are not split: Snt and S.Err say nothing here
        counts.snt = counts.snt_err = 0
    return split


def by_speaker(alignments: Dict[str, List[Step]],
               utt2spk: Dict[str, str]) -> Dict[str, Counts]:
    """The counts of each speaker's utterances (``utt2spk``: utterance -> speaker; in
    the synthetic corpora a speaker is a voice), sorted by speaker.

    Raises:
        DataError: an aligned utterance that ``utt2spk`` does not name.
    """
    missing = sorted(set(alignments) - set(utt2spk))
    if missing:
        raise DataError(f"{len(missing)} utterance(s) have no speaker in utt2spk, "
                        f"e.g. {missing[0]}")
    groups: Dict[str, Counts] = {}
    for utt, steps in alignments.items():
        groups.setdefault(utt2spk[utt], Counts()).add(steps)
    return dict(sorted(groups.items()))


def write_score_dir(out_dir: str, refs: Dict[str, str], hyps: Dict[str, str],
                    tokenize: Callable[[str], List[str]]
                    ) -> Tuple[Counts, Dict[str, List[Step]]]:
    """Write ref.trn, hyp.trn, result.txt and summary.json; returns the counts and the
    alignments (:func:`score`)."""
    counts, alignments = score(refs, hyps, tokenize)
    os.makedirs(out_dir, exist_ok=True)
    for name, table in (("ref.trn", refs), ("hyp.trn", hyps)):
        with open(os.path.join(out_dir, name), "w", encoding="utf-8") as f:
            for utt in sorted(refs):
                f.write(f"{' '.join(tokenize(table[utt]))} ({utt})\n")
    with open(os.path.join(out_dir, "result.txt"), "w", encoding="utf-8") as f:
        for utt, steps in alignments.items():
            f.write(format_block(utt, steps) + "\n")
        f.write(format_summary(counts))
    with open(os.path.join(out_dir, "summary.json"), "w", encoding="utf-8") as f:
        json.dump(asdict(counts), f, indent=1)
    return counts, alignments


def read_counts(path: str) -> Optional[Counts]:
    """The counts of a ``summary.json``, or None if there is none."""
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        return Counts(**json.load(f))
