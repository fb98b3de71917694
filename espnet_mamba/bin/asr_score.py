"""Score ASR hypotheses against references: WER and CER with sclite-like alignments.

    python -m espnet_mamba.bin.asr_score --ref data/test/text \\
        --hyp exp/asr/decode/test/text --output_dir exp/asr/decode/test

Both inputs are Kaldi ``text`` files (``utt words...``).  For each unit (``wer``: words,
``cer``: characters, a space counted as the token ``<space>`` as ESPnet does) it writes
``<output_dir>/score_<unit>/``:

* ``ref.trn``, ``hyp.trn``: the token sequences in sclite's trn format;
* ``result.txt``: one alignment block per utterance (``REF``/``HYP``/``Eval`` lines,
  ``***`` for a gap, ``S``/``D``/``I`` under errors) and the ``Sum/Avg`` summary;
* ``summary.json``: the counts, read by :mod:`espnet_mamba.bin.asr_results`.

Alignment is a minimum edit-distance (Levenshtein) alignment; among equally cheap
alignments the backtrace prefers a match/substitution, then a deletion, then an insertion.
"""
import argparse
import json
import os
from dataclasses import asdict, dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

# One aligned position: (op, ref token or None, hyp token or None); op is C, S, D or I.
Step = Tuple[str, Optional[str], Optional[str]]


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
    """Minimum edit-distance alignment of two token sequences."""
    n, m = len(ref), len(hyp)
    # cost[i][j]: edits turning ref[:i] into hyp[:j]
    cost = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        cost[i][0] = i
    for j in range(m + 1):
        cost[0][j] = j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            diagonal = cost[i - 1][j - 1] + (ref[i - 1] != hyp[j - 1])
            cost[i][j] = min(diagonal, cost[i - 1][j] + 1, cost[i][j - 1] + 1)
    steps: List[Step] = []
    i, j = n, m
    while i > 0 or j > 0:
        if i > 0 and j > 0 and cost[i][j] == cost[i - 1][j - 1] + (ref[i - 1] != hyp[j - 1]):
            steps.append(("C" if ref[i - 1] == hyp[j - 1] else "S", ref[i - 1], hyp[j - 1]))
            i, j = i - 1, j - 1
        elif i > 0 and cost[i][j] == cost[i - 1][j] + 1:
            steps.append(("D", ref[i - 1], None))
            i -= 1
        else:
            steps.append(("I", None, hyp[j - 1]))
            j -= 1
    return steps[::-1]


def words(text: str) -> List[str]:
    """Word tokens."""
    return text.split()


def chars(text: str) -> List[str]:
    """Character tokens; each run of whitespace between words becomes ``<space>``."""
    return ["<space>" if c == " " else c for c in " ".join(text.split())]


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


def read_text(path: str) -> Dict[str, str]:
    """Kaldi ``text``: utterance id -> transcript (possibly empty)."""
    table: Dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            fields = line.split(maxsplit=1)
            if fields:
                table[fields[0]] = fields[1].strip() if len(fields) > 1 else ""
    return table


def score(refs: Dict[str, str], hyps: Dict[str, str],
          tokenize: Callable[[str], List[str]]) -> Tuple[Counts, Dict[str, List[Step]]]:
    """Align every reference utterance with its hypothesis; totals and alignments."""
    missing = sorted(set(refs) - set(hyps))
    if missing:
        raise ValueError(f"{len(missing)} reference utterance(s) have no hypothesis, "
                         f"e.g. {missing[0]}")
    counts = Counts()
    alignments = {}
    for utt in sorted(refs):
        alignments[utt] = align(tokenize(refs[utt]), tokenize(hyps[utt]))
        counts.add(alignments[utt])
    return counts, alignments


def write_score_dir(out_dir: str, refs: Dict[str, str], hyps: Dict[str, str],
                    tokenize: Callable[[str], List[str]]) -> Counts:
    """Write ref.trn, hyp.trn, result.txt and summary.json; returns the counts."""
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
    return counts


UNITS = {"wer": words, "cer": chars}


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ref", required=True, help="reference Kaldi text file")
    parser.add_argument("--hyp", required=True, help="hypothesis Kaldi text file")
    parser.add_argument("--output_dir", required=True, help="gets score_wer/ and score_cer/")
    args = parser.parse_args(argv)
    for path in (args.ref, args.hyp):
        if not os.path.isfile(path):
            raise SystemExit(f"asr_score: missing file: {path}")
    refs, hyps = read_text(args.ref), read_text(args.hyp)
    for unit, tokenize in UNITS.items():
        try:
            counts = write_score_dir(os.path.join(args.output_dir, f"score_{unit}"),
                                     refs, hyps, tokenize)
        except ValueError as exc:
            raise SystemExit(f"asr_score: {args.hyp}: {exc}")
        print(f"{unit.upper()} {counts.percentages()['Err']:.1f}% "
              f"({counts.err}/{counts.wrd}) on {args.output_dir}")


if __name__ == "__main__":
    main()
