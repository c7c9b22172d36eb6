"""A plain (non-editable) install: what the wheel carries (one import package, ``voc``), how paths resolve
without a checkout, and that a user's own ``models/`` or ``serving/`` folder cannot shadow voc's code."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from voc.models import paths
from voc.training.config import ConfigError, TrainConfig, load_config

ROOT = Path(__file__).resolve().parents[1]


# --- path resolution ----------------------------------------------------------------------------------------


def test_a_checkout_reads_the_repository_files():
    assert paths.PACKAGE_ROOT == ROOT and paths.CHECKOUT == ROOT
    assert paths.DEFAULT_LABELS == ROOT / "data" / "labels.yaml"  # the file researchers edit
    assert paths.DATA == ROOT / "data"


def test_relative_files_are_found_in_the_current_directory_first_then_the_checkout(tmp_path, monkeypatch):
    repo, cwd = tmp_path / "repo", tmp_path / "cwd"
    for base in (repo, cwd):
        (base / "data").mkdir(parents=True)
    (repo / "data" / "both.jsonl").write_text("repo")
    (cwd / "data" / "both.jsonl").write_text("cwd")
    (repo / "data" / "repo_only.jsonl").write_text("repo")
    monkeypatch.setattr(paths, "CHECKOUT", repo)
    monkeypatch.chdir(cwd)
    assert paths.find_file("data/both.jsonl") == cwd / "data" / "both.jsonl"
    assert paths.find_file("data/repo_only.jsonl") == repo / "data" / "repo_only.jsonl"
    assert paths.find_file("data/nowhere.jsonl") == cwd / "data" / "nowhere.jsonl"  # the error names this one
    assert paths.find_file(repo / "data" / "both.jsonl") == repo / "data" / "both.jsonl"
    assert paths.output_base() == repo


def test_an_install_finds_the_packaged_label_schema_and_writes_beside_the_current_directory(tmp_path, monkeypatch):
    packaged = tmp_path / "site-packages" / "voc" / "models" / "labels.yaml"
    packaged.parent.mkdir(parents=True)
    shutil.copy(ROOT / "data" / "labels.yaml", packaged)
    monkeypatch.setattr(paths, "CHECKOUT", None)
    monkeypatch.setattr(paths, "DEFAULT_LABELS", packaged)
    monkeypatch.chdir(tmp_path)
    assert paths.find_file("data/labels.yaml") == packaged
    assert paths.output_base() == tmp_path
    assert TrainConfig(name="x").output_path == tmp_path / "artifacts" / "models" / "x"


def test_bundled_configs_by_name_or_by_repository_path_from_any_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert paths.bundled_configs() == ["commercial", "default", "full"]
    assert paths.find_config("default") == ROOT / "training" / "configs" / "default.yaml"
    assert paths.find_config("training/configs/full.yaml") == ROOT / "training" / "configs" / "full.yaml"
    assert load_config("default").name == load_config(ROOT / "training" / "configs" / "default.yaml").name
    with pytest.raises(ConfigError, match=r"nosuch\.yaml \(bundled configs: commercial, default, full\)"):
        load_config("nosuch")


def test_training_without_the_bundled_data_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "CHECKOUT", None)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="not in the installed package: run voc from the root of a clone") as e:
        load_config("default")
    assert "--set 'train=[FILE]'" in str(e.value)
    # Own files instead: the labels fall back to the package's schema.
    mine = tmp_path / "mine.jsonl"
    mine.write_text('{"text": "good", "sentiment": "positive"}\n')
    config = load_config(None, ["train=[mine.jsonl]", "validation=[mine.jsonl]", "test=[]"])
    assert config.resolve(config.train[0].path) == mine
    assert config.resolve(config.labels) == paths.DEFAULT_LABELS


# --- the wheel ----------------------------------------------------------------------------------------------


def build_wheel(tmp_path: Path) -> Path:
    """The wheel, built offline from a copy of the sources (the build writes build/ and *.egg-info beside them)."""
    src = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    (src / "data").mkdir(parents=True)
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "data/labels.yaml"):
        shutil.copy(ROOT / name, src / name)
    for package in ("voc", "models", "training", "evaluation", "serving", "batch", "research", "tools"):
        shutil.copytree(ROOT / package, src / package, ignore=ignore)
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", str(src), "-w"]
    done = subprocess.run([*cmd, str(tmp_path / "dist")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("voc-*.whl")
    return wheel


@pytest.mark.skipif(importlib.util.find_spec("setuptools") is None, reason="needs setuptools to build the wheel")
def test_the_wheel_installs_one_import_package_with_the_schema_the_configs_and_the_templates(tmp_path):
    wheel = build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        assert z.read("voc/models/labels.yaml") == (ROOT / "data" / "labels.yaml").read_bytes()
        for config in (ROOT / "training" / "configs").glob("*.yaml"):
            assert z.read(f"voc/training/configs/{config.name}") == config.read_bytes()
        for package in ("serving", "batch"):
            for template in (ROOT / package / "templates").iterdir():
                assert f"voc/{package}/templates/{template.name}" in names
        (top_level,) = [n for n in names if n.endswith(".dist-info/top_level.txt")]
        assert z.read(top_level).decode().split() == ["voc"]
    assert {
        "voc/__init__.py",
        "voc/models/paths.py",
        "voc/serving/service.py",
        "voc/batch/score.py",
        "voc/tools/reliability/__init__.py",
    } <= names
    assert not [n for n in names if not n.startswith(("voc/", "voc-"))]  # no generic top-level name

    # Installed into a folder of its own, it imports from there, beside a user's own models/ and serving/.
    target, work = tmp_path / "site", tmp_path / "work"
    pip = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target", str(target)]
    assert subprocess.run([*pip, str(wheel)], capture_output=True, timeout=300).returncode == 0
    for shadow in ("models/__init__.py", "serving/__init__.py"):
        (work / shadow).parent.mkdir(parents=True, exist_ok=True)
        (work / shadow).write_text("raise ImportError('the user package was imported')\n")
    code = (
        "import voc.models.paths as p, voc.serving.contract, jinja2\n"
        "for package in ('voc.serving', 'voc.batch'): jinja2.PackageLoader(package, 'templates')\n"
        "print(p.__file__, p.DEFAULT_LABELS.is_file())"
    )
    done = run_python(work, target, "-c", code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(target / "voc" / "models" / "paths.py"), "True"]


def run_python(cwd: Path, path: Path, *args: str) -> subprocess.CompletedProcess:
    """``python ARGS`` in ``cwd`` with voc importable from ``path`` (a checkout or an install target)."""
    env = {**os.environ, "PYTHONPATH": str(path), "BENTOML_DO_NOT_TRACK": "True"}
    env.pop("PYTHONSAFEPATH", None)
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_a_checkout_imports_beside_a_users_own_models_and_serving_packages(tmp_path, tiny_model_dir):
    for shadow in ("models/__init__.py", "serving/__init__.py", "serving.py"):
        (tmp_path / shadow).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / shadow).write_text("raise ImportError('the user package was imported')\n")
    code = (
        "import voc, voc.serving.cli; clf = voc.load(__import__('sys').argv[1]); "
        "print(voc.serving.cli.__file__, clf(['good'])[0]['sentiment']['label'] in ('negative', 'neutral', 'positive'))"
    )
    done = run_python(tmp_path, ROOT, "-c", code, str(tiny_model_dir))
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-2:] == [str(ROOT / "serving" / "cli.py"), "True"]
