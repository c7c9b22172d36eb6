"""The HTTP service ships without the analysts' table stack: no module of voc.serving imports pandas, pyarrow,
openpyxl or matplotlib (those belong to ``voc score``, voc.batch), so the Bento need not carry them."""

from __future__ import annotations

import os
import pkgutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("pandas", "pyarrow", "openpyxl", "matplotlib")

CHECK = """
import importlib, pkgutil, sys
import voc.serving
names = sorted(m.name for m in pkgutil.walk_packages(voc.serving.__path__, "voc.serving."))
for name in names:
    importlib.import_module(name)
heavy = sorted(m for m in sys.modules if m.partition(".")[0] in sys.argv[1].split(","))
print(len(names), " ".join(heavy) or "none")
"""


def test_no_serving_module_imports_the_table_stack(tiny_model_dir):
    modules = [m.name for m in pkgutil.iter_modules([str(ROOT / "serving")])]
    assert {"service", "contract", "cli", "home", "openapi"} <= set(modules)
    env = {**os.environ, "VOC_MODEL": str(tiny_model_dir), "PYTHONPATH": str(ROOT), "BENTOML_DO_NOT_TRACK": "True"}
    done = subprocess.run(
        [sys.executable, "-c", CHECK, ",".join(HEAVY)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    count, heavy = done.stdout.split()[-2:]
    assert int(count) == len(modules)
    assert heavy == "none", f"voc.serving imports {heavy}"
