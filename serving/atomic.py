"""Atomic file output: write to a temporary file beside the target, rename it into place only on success."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yield a temporary path in ``final``'s directory; rename it to ``final`` when the block succeeds.

    On any exception, Ctrl-C included, the temporary file is removed and nothing appears at ``final``.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        tmp.chmod(0o644)
        tmp.replace(final)
    finally:
        tmp.unlink(missing_ok=True)
