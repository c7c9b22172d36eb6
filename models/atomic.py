"""Atomic file output: write to a temporary file beside the target, rename it into place only on success.

The temporary file is named ``.<target>.<pid>.<random>.tmp``: a job killed with SIGKILL (or a power cut)
cannot remove its own, so the next job writing the same target removes the ones whose process is gone.
"""

from __future__ import annotations

import glob
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _prefix(final: Path) -> str:
    return f".{final.name}."


def process_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists (one of another user counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(final: Path) -> list[Path]:
    """Remove the temporary files of ``final`` left by processes that no longer run; return them."""
    removed = []
    for name in glob.glob(glob.escape(_prefix(final)) + "*.tmp", root_dir=final.parent, include_hidden=True):
        pid = name[len(_prefix(final)) :].split(".")[0]
        if pid.isdigit() and int(pid) != os.getpid() and not process_alive(int(pid)):
            (final.parent / name).unlink(missing_ok=True)
            removed.append(final.parent / name)
    return removed


@contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yield a temporary path in ``final``'s directory; rename it to ``final`` when the block succeeds.

    On any exception, Ctrl-C included, the temporary file is removed and nothing appears at ``final``.
    Stale temporary files of ``final`` from killed jobs are removed first.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(final)
    fd, name = tempfile.mkstemp(prefix=f"{_prefix(final)}{os.getpid()}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        tmp.chmod(0o644)
        tmp.replace(final)
    finally:
        tmp.unlink(missing_ok=True)
