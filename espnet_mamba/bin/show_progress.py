"""One progress line of a running ESPnet training, read from its log (the recipes print it).

    python -m espnet_mamba.bin.show_progress exp/asr_x/train.log --elapsed 130

prints e.g. ``epoch 3/8, batch 60/94: loss 41.20 (valid 38.10 after epoch 2); 2m10s
elapsed, about 3m35s left`` (the time left scales the time so far by the epochs left).  ESPnet's trainer logs ``N/Mepoch started``, a
``Nepoch:train:a-bbatch: ... loss=...`` line every few batches and ``Nepoch results:
[train] ... [valid] loss=...`` after each epoch; the batches per epoch are known from the
first finished epoch (no estimate before).  Prints nothing before the first epoch starts.
"""
import argparse
import re
from typing import List, NamedTuple, Optional, Tuple


class Progress(NamedTuple):
    epoch: int  # the latest epoch started
    max_epoch: int
    batch: int  # batches done in that epoch
    batches: Optional[int]  # batches per epoch, once an epoch has finished
    loss: Optional[float]  # the latest training loss
    valid: Optional[Tuple[int, float]]  # (epoch, validation loss) of the last finished epoch
    done: float  # epochs of this run done, fractions included
    total: int  # epochs this run trains


NUMBER = r"([-\d.e+]+)"


def parse(lines: List[str]) -> Optional[Progress]:
    """The state of a training from its log lines; None before the first epoch."""
    started = [m for line in lines if (m := re.search(r"(\d+)/(\d+)epoch started", line))]
    if not started:
        return None
    epoch, max_epoch = int(started[-1].group(1)), int(started[-1].group(2))
    first = int(started[0].group(1))  # a resumed run starts after epoch 1
    batch, loss, valid, last_done, batches = 0, None, None, first - 1, None
    for line in lines:
        if m := re.search(rf"(\d+)epoch:train:\d+-(\d+)batch:.*?\bloss={NUMBER}", line):
            if int(m.group(1)) == epoch:
                batch, loss = int(m.group(2)), float(m.group(3))
        if m := re.search(rf"(\d+)epoch results: \[train\].*?\bloss={NUMBER}", line):
            last_done, loss = int(m.group(1)), float(m.group(2))
            if v := re.search(rf"\[valid\].*?\bloss={NUMBER}", line):
                valid = (last_done, float(v.group(1)))
            if batches is None:  # the batches of the first finished epoch
                counts = [int(b.group(1)) for b in re.finditer(
                    rf"{last_done}epoch:train:\d+-(\d+)batch:", "\n".join(lines))]
                batches = max(counts) if counts else None
    done = float(last_done - first + 1)
    if last_done < epoch and batches:
        done += min(batch, batches) / batches
    return Progress(epoch, max_epoch, batch, batches, loss, valid, done, max_epoch - first + 1)


def timespan(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s"


def describe(p: Progress, elapsed: float) -> str:
    """The progress line: epoch, batch, losses, elapsed, estimated time left."""
    text = f"epoch {p.epoch}/{p.max_epoch}"
    if p.batch:
        text += f", batch {p.batch}" + (f"/{p.batches}" if p.batches else "")
    if p.loss is not None:
        text += f": loss {p.loss:.2f}"
    if p.valid is not None:
        text += f" (valid {p.valid[1]:.2f} after epoch {p.valid[0]})"
    text += f"; {timespan(elapsed)} elapsed"
    if p.batches is None:
        return text + ", time left known after the first epoch"
    if 0 < p.done < p.total:
        text += f", about {timespan(elapsed * (p.total - p.done) / p.done)} left"
    return text


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("log", help="the training log (train.log)")
    parser.add_argument("--elapsed", type=float, required=True, help="seconds since start")
    args = parser.parse_args(argv)
    try:
        with open(args.log, encoding="utf-8", errors="replace") as f:
            progress = parse(f.readlines())
    except FileNotFoundError:
        return
    if progress is not None:
        print(describe(progress, args.elapsed))


if __name__ == "__main__":
    main()
