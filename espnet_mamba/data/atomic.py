"""Output that is either complete or absent: a dir built beside its final place and
renamed, a file written to a temporary name and replaced."""
import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Union

PathLike = Union[str, Path]


@contextmanager
def atomic_dir(path: PathLike) -> Iterator[Path]:
    """Yield ``<path>.tmp`` (new and empty); when the block ends without an error it
    replaces ``path``, so an interrupted run never leaves a dir that looks finished.
    On an error the ``.tmp`` dir is removed and ``path`` is left as it was."""
    final = Path(path)
    tmp = final.with_name(final.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(final, ignore_errors=True)
    os.rename(tmp, final)


def atomic_write(path: PathLike, text: str) -> None:
    """Write ``text`` to ``path`` through ``<path>.tmp`` and a rename."""
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)
