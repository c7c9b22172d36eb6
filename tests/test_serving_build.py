"""`bentoml build` packs the service offline (pinned requirements, no lock step) with the tiny model."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from voc.models.paths import package_version

REPO = Path(__file__).resolve().parents[1]


def test_bentoml_build_works_offline(tiny_model_dir, bentoml_home):
    # Register in a subprocess too: BentoML caches its store location per process, whatever BENTOML_HOME says later.
    env = {**os.environ, "BENTOML_HOME": str(bentoml_home), "PIP_NO_INDEX": "1"}
    code = f"from voc.models.store import register; print(register({str(tiny_model_dir)!r}))"
    registered = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True)
    assert registered.returncode == 0, registered.stderr[-3000:]
    tag = registered.stdout.strip().splitlines()[-1]
    done = subprocess.run(
        [sys.executable, "-m", "bentoml", "build", "--output", "tag"],
        cwd=REPO,
        env={**env, "VOC_MODEL": tag},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    bento = next(p for p in (bentoml_home / "bentos" / "voc").iterdir() if p.is_dir())
    info = (bento / "bento.yaml").read_text()
    assert tag in info and "voc.serving.service:VocService" in info
    requirements = (bento / "env" / "python" / "requirements.txt").read_text()
    assert requirements.count("==") > 50
    assert not [line for line in requirements.splitlines() if line.startswith(("pandas==", "matplotlib=="))]
    assert (bento / "src" / "serving" / "service.py").is_file()
    assert not (bento / "src" / "batch").exists() and not (bento / "src" / "tools").exists()  # voc score, voc bench
    openapi = (bento / "apis" / "openapi.yaml").read_text()  # the service's own document, as /docs.json serves it
    assert f"version: {package_version()}" in openapi and "BentoML Team" not in openapi
    assert "IODescriptor" not in openapi and (bento / "src" / "pyproject.toml").is_file()  # its version when served
