"""The model sizes of the benchmarks: the reference configs shipped with the package
(``espnet_mamba/conf/{asr,enh}/*.yaml``, also ``conf/`` of the repository), so the
benchmarks measure what the configs train, in a checkout and an installed wheel alike."""
from pathlib import Path
from typing import Any, Dict

import yaml

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"


def load(name: str) -> Dict[str, Any]:
    """The parsed config ``conf/<name>`` (e.g. ``asr/train_asr_conmamba_ctc_s.yaml``).

    Raises:
        FileNotFoundError: no such config in the package.
    """
    path = CONF_DIR / name
    if not path.is_file():
        raise FileNotFoundError(f"reference config not found: {path}")
    return yaml.safe_load(path.read_text())

