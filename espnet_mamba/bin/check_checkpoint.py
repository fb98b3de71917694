"""Check that an experiment's ``checkpoint.pth`` loads before ESPnet resumes from it.

    python -m espnet_mamba.bin.check_checkpoint EXP_DIR --rerun "./run.sh --stage 6 --asr_args"

ESPnet writes ``checkpoint.pth`` in place, so a run stopped while saving it leaves a
truncated file, and resuming then fails deep inside torch.  This exits 0 if the file
loads (or is absent); otherwise it names the file and the error, finds the last epoch
whose weights (``<N>epoch.pth``) load, and prints the commands that set the bad file
aside and start again from those weights (``--init_param``: the optimizer state is
lost and epochs count from 1 again), and exits 1.  Nothing is moved or deleted.
"""
import argparse
import re
import shlex
import sys
from pathlib import Path
from typing import List, Optional, Tuple

import torch


def load_error(path: Path) -> Optional[str]:
    """None if ``path`` loads with torch, else the error in one line."""
    try:
        torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # any failure means the file cannot be resumed from
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return None


def last_good_epoch(exp_dir: Path) -> Optional[Tuple[int, Path]]:
    """The highest ``<N>epoch.pth`` in ``exp_dir`` that loads."""
    epochs = sorted(((int(m.group(1)), p) for p in exp_dir.glob("*epoch.pth")
                     if (m := re.fullmatch(r"(\d+)epoch\.pth", p.name))), reverse=True)
    return next(((n, p) for n, p in epochs if load_error(p) is None), None)


def report(exp_dir: Path, error: str, rerun: str) -> List[str]:
    """The lines telling the user what is wrong and what to type."""
    ckpt = exp_dir / "checkpoint.pth"
    lines = [f"{ckpt} does not load ({error}).",
             "The run that wrote it probably stopped while ESPnet was saving it "
             "(ESPnet does not write it atomically)."]
    good = last_good_epoch(exp_dir)
    aside = f"mv {shlex.quote(str(ckpt))} {shlex.quote(str(ckpt))}.bad"
    if good is None:
        lines += ["No <N>epoch.pth of this experiment loads either; to train from scratch:",
                  f"    {aside}", f"    {rerun} ''"]
    else:
        n, path = good
        lines += [f"The last epoch whose weights load is {n} ({path}). To go on from those "
                  "weights (a fresh optimizer; epochs count from 1 again):",
                  f"    {aside}",
                  f"    {rerun} {shlex.quote('--init_param ' + str(path))}"]
    return lines


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("exp_dir", type=Path, help="ESPnet experiment dir (--output_dir)")
    parser.add_argument("--rerun", default="./run.sh --stage N --asr_args",
                        help="command prefix that re-runs training with extra trainer options")
    args = parser.parse_args(argv)
    ckpt = args.exp_dir / "checkpoint.pth"
    if not ckpt.exists():
        return
    error = load_error(ckpt)
    if error is None:
        print(f"{ckpt} loads")
        return
    print("\n".join(report(args.exp_dir, error, args.rerun)), file=sys.stderr)
    raise SystemExit(1)


if __name__ == "__main__":
    main()
