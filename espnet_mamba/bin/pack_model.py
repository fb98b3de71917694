"""Pack a trained asr/enh/tts model with ESPnet's ``espnet2.bin.pack`` (and lay out a
Hugging Face model repo with a model card).

    python -m espnet_mamba.bin.pack_model asr --train_config exp/asr_x/config.yaml \\
        --model_file exp/asr_x/valid.acc.ave.pth --outpath exp/asr_x/packed.zip \\
        [--hf_dir exp/asr_x/hf_repo]

Run it in the recipe dir (the config's relative paths are relative to it) or give
``--root``.  Packs the files the config names (statistics, BPE model) and the
experiment's RESULTS.md; see :mod:`espnet_mamba.export.pack`.
"""
import argparse
import sys
from typing import List, Optional

from espnet_mamba.export.pack import TASKS, PackError, pack_model


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m espnet_mamba.bin.pack_model", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("task", choices=sorted(TASKS))
    parser.add_argument("--train_config", required=True, help="training config.yaml")
    parser.add_argument("--model_file", required=True, help="model weights (.pth)")
    parser.add_argument("--outpath", required=True, help="the zip to write")
    parser.add_argument("--root", default=".", help="the dir the training ran in")
    parser.add_argument("--results", default=None,
                        help="RESULTS.md (default: the one beside --model_file)")
    parser.add_argument("--hf_dir", default=None,
                        help="also lay out a Hugging Face model repo here")
    parser.add_argument("--language", default="en", help="language tag of the model card")
    parser.add_argument("--license", default="cc-by-4.0", help="licence tag of the card")
    parser.add_argument("--option", action="append", default=[],
                        help="a further file to pack (repeatable)")
    return parser


def main(argv: Optional[List[str]] = None) -> None:
    args = get_parser().parse_args(argv)
    try:
        path = pack_model(args.task, args.train_config, args.model_file, args.outpath,
                          root=args.root, results=args.results, hf_dir=args.hf_dir,
                          language=args.language, license=args.license, options=args.option)
    except PackError as exc:
        print(f"pack_model: error: {exc}", file=sys.stderr)
        raise SystemExit(1)
    print(f"packed: {path}" + (f"; Hugging Face repo: {args.hf_dir}" if args.hf_dir else ""))


if __name__ == "__main__":
    main()
