"""The one atomic writer (voc.models.atomic): a file or a directory appears whole or not at all."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from voc.models.atomic import atomic_dir, atomic_path, write_text


def test_a_failed_directory_leaves_the_old_one_and_no_temporary(tmp_path):
    target = tmp_path / "model"
    with atomic_dir(target) as tmp:
        (tmp / "a.txt").write_text("first")
    with pytest.raises(KeyboardInterrupt), atomic_dir(target) as tmp:
        (tmp / "a.txt").write_text("second, half written")
        raise KeyboardInterrupt
    assert (target / "a.txt").read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_a_directory_replaces_the_old_one_whole(tmp_path):
    target = tmp_path / "model"
    with atomic_dir(target) as tmp:
        (tmp / "old.txt").write_text("old")
    with atomic_dir(target) as tmp:
        (tmp / "new.txt").write_text("new")
    assert [p.name for p in target.iterdir()] == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    assert target.stat().st_mode & 0o777 == 0o755


def test_temporaries_of_killed_jobs_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    stale_dir = tmp_path / f".model.{pid}.x.tmp"
    stale_dir.mkdir()
    (stale_dir / "heads.safetensors").write_bytes(b"half")
    stale_file = tmp_path / f".voc.json.{pid}.y.tmp"
    stale_file.write_text("{")
    mine = tmp_path / f".model.{os.getpid()}.z.tmp"  # a job still running keeps its own
    mine.mkdir()
    with atomic_dir(tmp_path / "model"):
        pass
    write_text(tmp_path / "voc.json", "{}\n")
    assert not stale_dir.exists() and not stale_file.exists() and mine.exists()
    assert (tmp_path / "voc.json").read_text() == "{}\n"


def test_a_failed_file_leaves_nothing(tmp_path):
    with pytest.raises(ValueError), atomic_path(tmp_path / "out.csv") as tmp:
        tmp.write_text("half")
        raise ValueError
    assert list(tmp_path.iterdir()) == []
