"""Whether a TTS training config's model trains on teacher durations.

    python -m espnet_mamba.bin.takes_durations conf/train.yaml

Prints, as the last line of stdout (ESPnet may print notices there on import), ``true``
if the ``forward`` of the config's ``tts`` takes ``durations`` (ESPnet's ``fastspeech``,
``fastspeech2``, ``prodiff``, the project's ``mamba_fastspeech``) and ``false`` if not
(``transformer``, ``tacotron2``, ``mamba_tts``, ...); a config that names no known ``tts``
is an error (exit status 2).  ``tts.sh --durations_asr_exp`` asks it which models get
durations.
"""
import argparse
from pathlib import Path
from typing import List, Optional

import yaml

from espnet_mamba.tts.durations import takes_durations


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", type=Path, help="TTS training config (YAML with `tts:`)")
    args = parser.parse_args(argv)
    tts = (yaml.safe_load(args.config.read_text()) or {}).get("tts")
    if not isinstance(tts, str):
        parser.error(f"{args.config}: no `tts:` choice")
    try:
        takes = takes_durations(tts)
    except ValueError as exc:
        parser.error(f"{args.config}: {exc}")
    print("true" if takes else "false")


if __name__ == "__main__":
    main()
