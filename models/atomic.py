"""Atomic output, for model directories and their files, evaluation reports and batch outputs: write a temporary
file or directory beside the target and rename it into place only on success, so a reader never sees half of it
and a failure leaves the target as it was.

A temporary is named ``.<target>.<pid>.<random>.tmp``: a job killed with SIGKILL (or a power cut) cannot remove
its own, so the next job writing the same target removes the ones whose process is gone.
"""

from __future__ import annotations

import glob
import os
import shutil
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
    """Remove the temporaries (files or directories) of ``final`` left by processes that no longer run; return them."""
    removed = []
    for name in glob.glob(glob.escape(_prefix(final)) + "*.tmp", root_dir=final.parent, include_hidden=True):
        pid = name[len(_prefix(final)) :].split(".")[0]
        if pid.isdigit() and int(pid) != os.getpid() and not process_alive(int(pid)):
            stale = final.parent / name
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
            else:
                stale.unlink(missing_ok=True)
            removed.append(stale)
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


def write_text(final: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``final`` atomically."""
    with atomic_path(Path(final)) as tmp:
        tmp.write_text(text, encoding="utf-8")


@contextmanager
def atomic_dir(final: Path) -> Iterator[Path]:
    """Yield an empty temporary directory beside ``final``; it replaces ``final`` (a directory, if any) when the
    block succeeds. On any exception, Ctrl-C included, it is removed and ``final`` is left as it was."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(final)
    tmp = Path(tempfile.mkdtemp(prefix=f"{_prefix(final)}{os.getpid()}.", suffix=".tmp", dir=final.parent))
    try:
        yield tmp
        tmp.chmod(0o755)
        old = final.with_name(f"{_prefix(final)}{os.getpid()}.old.tmp")
        if final.exists():  # moved aside, not deleted, until the new one is in place
            final.rename(old)
        try:
            tmp.rename(final)
        except BaseException:
            if old.exists():
                old.rename(final)
            raise
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
