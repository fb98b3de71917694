"""Write an experiment's RESULTS.md from its scores (the last stage of every template).

    python -m espnet_mamba.bin.write_results asr exp/asr_train_asr_raw_en_bpe5000
    python -m espnet_mamba.bin.write_results enh exp/enh_train_enh_raw
    python -m espnet_mamba.bin.write_results tts exp/tts_train_raw_char \\
        --reference_asr_dir exp/tts_train_raw_char/asr_reference

Collects the scored sets of ``<exp_dir>`` (layouts: :mod:`espnet_mamba.eval.results`)
into ``<exp_dir>/RESULTS.md`` in ESPnet's layout, and prints it.
"""
import argparse
from typing import List, Optional

from espnet_mamba.bin import reported
from espnet_mamba.eval.results import TASKS, write_results


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("task", choices=sorted(TASKS), help="the experiment's task")
    parser.add_argument("exp_dir", help="the experiment dir")
    parser.add_argument("--note", default="",
                        help="a paragraph under the title (what the numbers mean)")
    parser.add_argument("--reference_asr_dir", default=None,
                        help="tts: ASR of the reference audio, <dir>/<set>/score_{cer,wer}/")
    args = parser.parse_args(argv)
    with reported("write_results"):
        print(write_results(args.task, args.exp_dir, args.note, args.reference_asr_dir))


if __name__ == "__main__":
    main()
