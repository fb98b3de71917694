"""One RESULTS.md for every task: ESPnet's layout (a title, the ``## Environments``
block, one ``## <experiment>`` section of markdown tables), rendered from the
``summary.json`` files the scorers leave in an experiment dir.

Where each task's scores are (``<tag>``: a decoding dir, ``<set>``: a test set):

* asr: ``<exp>/<tag>/<set>/score_{wer,cer}/summary.json`` (:mod:`espnet_mamba.eval.asr`);
* enh: ``<exp>/<dir>/scoring/summary.json`` (:mod:`espnet_mamba.eval.enh`; ESPnet's
  ``enhanced_<set>`` dirs);
* tts: ``<exp>/<tag>/<set>/score_mcd/summary.json`` (:mod:`espnet_mamba.eval.tts`), with
  ``asr/score_{cer,wer}/`` beside it when the synthesized speech was transcribed and
  ``logs/tts_inference.*.log`` for the real-time factor.
"""
import glob
import json
import os
import platform
import time
from importlib.metadata import PackageNotFoundError, version
from typing import Callable, Dict, List, Optional

from espnet_mamba.data import DataError, atomic_write
from espnet_mamba.eval.asr import UNITS, read_counts
from espnet_mamba.eval.enh import METRICS, columns

ASR_COLUMNS = ("Corr", "Sub", "Del", "Ins", "Err", "S.Err")


def package_version(name: str) -> str:
    """Installed version of a distribution, or ``unknown``."""
    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


def environment() -> List[str]:
    """The ``## Environments`` section, as ESPnet's show_*_result.sh write it."""
    return ["## Environments",
            f"- date: `{time.strftime('%a %b %d %H:%M:%S %Z %Y')}`",
            f"- python version: `{platform.python_version()}`",
            f"- espnet version: `espnet {package_version('espnet')}`",
            f"- pytorch version: `pytorch {package_version('torch')}`",
            f"- espnet_mamba version: `{package_version('espnet-mamba')}`",
            ""]


def _table(header: List[str], rows: List[List[str]]) -> List[str]:
    return ["|" + "|".join(header) + "|", "|---" * len(header) + "|",
            *("|" + "|".join(row) + "|" for row in rows), ""]


def _scored_sets(exp_dir: str, pattern: str, depth: int) -> List[str]:
    """The dirs (relative to ``exp_dir``) ``depth`` levels above each match of
    ``exp_dir/pattern``, sorted."""
    found = []
    for path in glob.glob(os.path.join(exp_dir, pattern)):
        for _ in range(depth):
            path = os.path.dirname(path)
        found.append(os.path.relpath(path, exp_dir))
    return sorted(found)


def asr_tables(exp_dir: str) -> List[str]:
    """``### WER`` and ``### CER``: ``|dataset|Snt|Wrd|Corr|Sub|Del|Ins|Err|S.Err|``."""
    lines: List[str] = []
    for unit in UNITS:
        rows = []
        for dataset in _scored_sets(exp_dir, f"*/*/score_{unit}/summary.json", 2):
            counts = read_counts(os.path.join(exp_dir, dataset, f"score_{unit}", "summary.json"))
            pct = counts.percentages()
            rows.append([dataset, str(counts.snt), str(counts.wrd),
                         *(f"{pct[c]:.1f}" for c in ASR_COLUMNS)])
        lines += [f"### {unit.upper()}", ""] + _table(["dataset", "Snt", "Wrd", *ASR_COLUMNS], rows)
    return lines


def enh_tables(exp_dir: str) -> List[str]:
    """``|dataset|Snt|SI_SNR|SI_SNRi|SDR|SDRi|STOI|PESQ|`` (the metrics scored)."""
    summaries = {}
    for dataset in _scored_sets(exp_dir, "*/scoring/summary.json", 2):
        with open(os.path.join(exp_dir, dataset, "scoring", "summary.json"), encoding="utf-8") as f:
            summaries[dataset] = json.load(f)
    cols = [c for c in columns(METRICS) if any(c in s["means"] for s in summaries.values())]
    rows = [[name, str(s["utterances"]),
             *(f"{s['means'][c]:.2f}" if c in s["means"] else "-" for c in cols)]
            for name, s in summaries.items()]
    return [f"- config: `{os.path.join(exp_dir, 'config.yaml')}`", ""] + _table(
        ["dataset", "Snt", *cols], rows)


def _error_cells(asr_dir: str) -> List[str]:
    """CER and WER of the ASR scores in ``asr_dir`` (``-`` where there are none)."""
    cells = []
    for unit in ("cer", "wer"):
        counts = read_counts(os.path.join(asr_dir, f"score_{unit}", "summary.json"))
        cells.append("-" if counts is None else f"{counts.percentages()['Err']:.1f}")
    return cells


def tts_tables(exp_dir: str, reference_asr_dir: str = "") -> List[str]:
    """``|dataset|utterances|MCD (dB)|CER (%)|WER (%)|RTF|``; with ``reference_asr_dir``
    (``<dir>/<set>/score_{cer,wer}/``) a row ``<set> (reference audio)`` after each set:
    what the ASR model makes of the recordings themselves."""
    from espnet_mamba.eval.tts import real_time_factor

    rows = []
    for dataset in _scored_sets(exp_dir, "*/*/score_mcd/summary.json", 2):
        set_dir = os.path.join(exp_dir, dataset)
        with open(os.path.join(set_dir, "score_mcd", "summary.json"), encoding="utf-8") as f:
            mcd = json.load(f)
        rtf = real_time_factor(set_dir)
        rows.append([dataset, str(mcd["utts"]), f"{mcd['mcd_mean']:.2f} ± {mcd['mcd_std']:.2f}",
                     *_error_cells(os.path.join(set_dir, "asr")),
                     "-" if rtf is None else f"{rtf:.3f}"])
        if not reference_asr_dir:
            continue
        reference = os.path.join(reference_asr_dir, os.path.basename(dataset))
        counts = read_counts(os.path.join(reference, "score_cer", "summary.json"))
        if counts is not None:
            rows.append([f"{dataset} (reference audio)", str(counts.snt), "-",
                         *_error_cells(reference), "-"])
    return ["- MCD: mel-cepstral distortion against the reference audio, DTW-aligned, "
            "c0 excluded (mean ± std over utterances)",
            "- CER/WER: ASR of the synthesized speech against the input text "
            "(`-`: not transcribed; `(reference audio)`: ASR of the recordings)",
            "- RTF: synthesis time (acoustic model + vocoder) / synthesized duration", ""
            ] + _table(["dataset", "utterances", "MCD (dB)", "CER (%)", "WER (%)", "RTF"], rows)


TASKS: Dict[str, Callable[..., List[str]]] = {"asr": asr_tables, "enh": enh_tables,
                                              "tts": tts_tables}
SCORES = {"asr": "*/*/score_*/summary.json", "enh": "*/scoring/summary.json",
          "tts": "*/*/score_mcd/summary.json"}


def make_results(task: str, exp_dir: str, note: str = "", **options: str) -> str:
    """RESULTS.md's text for ``exp_dir``; ``note``, if any, stands under the title;
    ``options`` go to the task's table function.

    Raises:
        DataError: no scored set in ``exp_dir``, or an unknown task.
    """
    if task not in TASKS:
        raise DataError(f"unknown task {task!r}; one of {sorted(TASKS)}")
    if not glob.glob(os.path.join(exp_dir, SCORES[task])):
        raise DataError(f"no scored set under {exp_dir} ({SCORES[task]})")
    lines = [f"<!-- Generated by espnet_mamba.bin.write_results {task} -->", "# RESULTS"]
    if note:
        lines += [note, ""]
    lines += environment()
    lines += [f"## {os.path.basename(os.path.normpath(exp_dir))}", ""]
    lines += TASKS[task](exp_dir, **options)
    return "\n".join(lines)


def write_results(task: str, exp_dir: str, note: str = "",
                  reference_asr_dir: Optional[str] = None) -> str:
    """Write ``<exp_dir>/RESULTS.md`` (replaced at once) and return its text."""
    options = {"reference_asr_dir": reference_asr_dir} if reference_asr_dir else {}
    text = make_results(task, exp_dir, note, **options)
    atomic_write(os.path.join(exp_dir, "RESULTS.md"), text)
    return text
