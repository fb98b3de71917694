"""Log-mel spectrograms of a few utterances from several wav.scp tables, in one PNG.

    python -m espnet_mamba.bin.plot_spectrograms --text data/test/text \\
        --utts tts_ts00001 tts_ts00002 --out images/spectrograms.png \\
        recordings=dump/raw/test/wav.scp \\
        "Mamba FastSpeech=exp/tts_train_mamba_fastspeech_raw_char/decode_tts_valid.loss.ave/test/wav.scp" \\
        [--heard "Mamba FastSpeech=exp/.../test/asr_text"]

Columns are the utterances (headed by their sentence), rows the sources in the order
given; ``--heard LABEL=TEXT`` puts a judge's transcripts in that row's panel titles.
"""
import argparse
import sys
from pathlib import Path
from typing import List, Optional

from espnet_mamba.data import DataError, read_table
from espnet_mamba.eval.spectrograms import plot, read_sources


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sources", nargs="+", metavar="LABEL=WAV_SCP",
                        help="a row label and the wav.scp table holding its audio")
    parser.add_argument("--text", required=True, help="Kaldi text table of the sentences")
    parser.add_argument("--utts", nargs="+", required=True, help="utterance ids to show")
    parser.add_argument("--heard", nargs="*", default=[], metavar="LABEL=TEXT",
                        help="a row label and the ASR judge's transcripts of its audio")
    parser.add_argument("--out", type=Path, required=True, help="PNG to write")
    args = parser.parse_args(argv)
    try:
        sources = read_sources(args.sources, "WAV_SCP")
        heard = read_sources(args.heard, "TEXT")
        unknown = sorted(set(heard) - set(sources))
        if unknown:
            raise DataError(f"--heard labels {unknown} name no source "
                            f"(sources: {list(sources)})")
        plot(sources, args.utts, read_table(args.text, "the sentences"), args.out, heard)
    except DataError as exc:
        sys.exit(f"plot_spectrograms: {exc}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
