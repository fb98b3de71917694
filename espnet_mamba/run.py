"""Launcher: run any ESPnet entry point with the project's components registered.

    python -m espnet_mamba.run -m espnet2.bin.asr_train --config conf/train.yaml ...
    python -m espnet_mamba.run path/to/script.py ARGS...

It works as upstream ESPnet's ``asr.sh/enh.sh/tts.sh --python "python3 -m
espnet_mamba.run"``.  Child processes that ESPnet or torch start with ``spawn`` import
``espnet_mamba`` through the installed ``espnet_mamba.pth``; the launcher also puts
this package's parent folder on ``PYTHONPATH`` so a source checkout works the same.
"""
import os
import runpy
import sys
from typing import List, Optional

USAGE = "usage: python -m espnet_mamba.run (-m MODULE | SCRIPT.py) [ARGS ...]"


def main(argv: Optional[List[str]] = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        raise SystemExit(0 if argv else 2)
    import espnet_mamba  # noqa: F401  (registers the components)

    root = os.path.dirname(os.path.dirname(os.path.abspath(espnet_mamba.__file__)))
    paths = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    if root not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([root] + [p for p in paths if p])
    if argv[0] == "-m":
        if len(argv) < 2:
            raise SystemExit(USAGE)
        sys.argv = [argv[1]] + argv[2:]
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
    else:
        if not os.path.isfile(argv[0]):
            raise SystemExit(f"espnet_mamba.run: no such script: {argv[0]}\n{USAGE}")
        sys.argv = list(argv)
        sys.path.insert(0, os.path.dirname(os.path.abspath(argv[0])))
        runpy.run_path(argv[0], run_name="__main__")


if __name__ == "__main__":
    main()
