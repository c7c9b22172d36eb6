"""Every documented command, end to end, on the model users run: the tiny model exported to ONNX by `voc export`
(``exported_model_dir``), registered in a throwaway BentoML store as ``voc-classifier:latest``, each command run
as a user runs it (``python -m voc ...`` in a process of its own, no ``--model``), on the model's default backend
(an ONNX graph) and on ``--backend torch``. Each asserts what the command wrote or printed, and that it ended
without a traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

from voc.models.backends import ONNX_FILES
from voc.models.data import iter_labelled
from voc.models.predictor import Predictor
from voc.models.schema import LabelSchema

REPO = Path(__file__).resolve().parents[1]
SCHEMA = LabelSchema.load()
REVIEWS = REPO / "data" / "examples" / "reviews.csv"
TEXTS = ["배송이 2주째 안 와요. 환불해 주세요", "the agent was kind and fixed it", "환불 refund please"]
# None: the model's default backend (what `voc export` chose: ONNX); "torch": --backend torch.
BACKENDS = [None, "torch"]
TEXT = {"capture_output": True, "text": True, "cwd": REPO}


@pytest.fixture(scope="module")
def store(exported_model_dir, tmp_path_factory) -> dict[str, str]:
    """The environment of a user whose store's latest ``voc-classifier`` is the exported model."""
    work = tmp_path_factory.mktemp("e2e")
    env = {k: v for k, v in os.environ.items() if k not in ("VOC_MODEL", "VOC_BACKEND", "VOC_QUANTIZE")}
    env.update(BENTOML_HOME=str(work / "bentoml"), VOC_HOME=str(work / "voc-home"), HF_HUB_OFFLINE="1")
    code = "import sys; from voc.models.store import register; print(register(sys.argv[1]))"
    done = subprocess.run([sys.executable, "-c", code, str(exported_model_dir)], env=env, **TEXT)
    assert done.returncode == 0, done.stderr
    env["TAG"] = done.stdout.strip()
    return env


def voc(store: dict, *args: str, backend: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """``python -m voc ARGS [--backend B]``; fails the test on a non-zero status or any traceback."""
    argv = [sys.executable, "-m", "voc", *args, *(["--backend", backend] if backend else [])]
    done = subprocess.run(argv, env={**store, **(env or {})}, timeout=600, **TEXT)
    assert done.returncode == 0, f"{' '.join(args)}: exit {done.returncode}\n{done.stderr[-3000:]}"
    assert "Traceback" not in done.stderr + done.stdout, done.stderr[-3000:]
    return done


def expected(exported_model_dir: Path, backend: str | None, texts: list[str]) -> list[dict]:
    """What the model on that backend gives in this process, to hold the commands' outputs to."""
    return Predictor.load(exported_model_dir, backend=backend).predict(texts)


def assert_same_scores(got: dict, want: dict) -> None:
    for task in SCHEMA.names:
        assert list(got[task]["scores"]) == list(SCHEMA[task].labels)
        np.testing.assert_allclose(list(got[task]["scores"].values()), list(want[task]["scores"].values()), atol=2e-4)


def test_the_exported_models_default_backend_is_onnx(exported_model_dir):
    assert Predictor.load(exported_model_dir).backend in ONNX_FILES


@pytest.mark.parametrize("backend", BACKENDS)
def test_classify(store, exported_model_dir, backend):
    done = voc(store, "classify", *TEXTS, backend=backend)
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [x["text"] for x in lines] == TEXTS and [x["language"] for x in lines] == ["ko", "en", "mixed"]
    for got, want in zip(lines, expected(exported_model_dir, backend, TEXTS)):
        assert_same_scores(got, want)
        assert got["sentiment"]["label"] == want["sentiment"]["label"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_python_api_in_two_lines(store, exported_model_dir, backend):
    code = "import json, sys, voc; clf = voc.load(); print(clf.predictor.backend); print(json.dumps(clf(sys.argv[1:])))"
    done = subprocess.run([sys.executable, "-c", code, *TEXTS], env={**store, "VOC_BACKEND": backend or ""}, **TEXT)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-3000:]
    used, results = done.stdout.splitlines()
    assert used == (backend or json.loads((exported_model_dir / "voc.json").read_text())["backends"]["default"])
    for got, want in zip(json.loads(results), expected(exported_model_dir, backend, TEXTS)):
        assert_same_scores(got, want)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_score_every_format(store, tmp_path, backend, fmt):
    frame = pd.read_csv(REVIEWS, dtype=str, keep_default_na=False)
    source = tmp_path / f"reviews.{fmt}"
    {"csv": lambda: frame.to_csv(source, index=False), "parquet": lambda: frame.to_parquet(source, index=False)}.get(
        fmt, lambda: frame.to_json(source, orient="records", lines=True, force_ascii=False)
    )()
    out = tmp_path / f"scored.{fmt}"
    args = ["score", str(source), "--text-column", "review", "--id-column", "review_id", "--output", str(out)]
    done = voc(store, *args, "--date-column", "created_at", "--group-by", "channel", backend=backend)
    empty = int((frame["review"].str.strip() == "").sum())
    assert f"{len(frame)} rows ({empty} with an error;" in done.stdout
    read = {"csv": lambda p: pd.read_csv(p, dtype=str, keep_default_na=False), "parquet": pd.read_parquet}
    scored = read.get(fmt, lambda p: pd.read_json(p, lines=True, dtype=False))(out)
    assert scored["review_id"].astype(str).tolist() == frame["review_id"].tolist()
    assert set(scored["sentiment"].replace("", None).dropna()) <= set(SCHEMA["sentiment"].labels)
    assert {f"escalation.{label}" for label in SCHEMA["escalation"].labels} <= set(scored.columns)
    for summary in (".summary.md", ".summary.html"):
        assert out.with_name(out.name + summary).stat().st_size > 500
    if fmt == "csv":
        assert out.read_bytes().startswith(b"\xef\xbb\xbf")


@pytest.mark.parametrize("backend", BACKENDS)
def test_score_explain(store, tmp_path, backend):
    source = tmp_path / "few.csv"
    pd.read_csv(REVIEWS, dtype=str, keep_default_na=False).head(12).to_csv(source, index=False)
    out = tmp_path / "explained.jsonl"
    voc(store, "score", str(source), "--text-column", "review", "--output", str(out), "--explain", backend=backend)
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 12 and all("evidence.sentiment" in r for r in rows)
    spans = [s for r in rows if r["evidence.sentiment"] for s in r["evidence.sentiment"]]
    assert spans and all(set(s) == {"start", "end", "text", "weight"} for s in spans)


@pytest.fixture(scope="module")
def labelled(tmp_path_factory) -> dict[str, Path]:
    """Small slices of the bundled labelled data: a test file and a training file for the baselines."""
    work = tmp_path_factory.mktemp("labelled")
    out = {}
    for name, n in (("test", 60), ("train", 200)):
        lines = (REPO / "data" / "voc" / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()[:n]
        out[name] = work / f"{name}.jsonl"
        out[name].write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


@pytest.mark.integration
@pytest.mark.parametrize("backend", BACKENDS)
def test_evaluate_with_baselines(store, labelled, tmp_path, backend):
    args = ["evaluate", "--data", str(labelled["test"]), "--train", str(labelled["train"]), "--report", str(tmp_path)]
    done = voc(store, *args, backend=backend)
    metrics = json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["rows"] == 60 and metrics["model"] == store["TAG"]
    assert {"model", "majority", "tfidf", "zero-shot"} <= set(metrics["systems"])
    assert set(metrics["systems"]["model"]) == set(SCHEMA.names)
    assert (tmp_path / "report.md").is_file() and (tmp_path / "report.html").is_file()
    assert "model vs tfidf" in done.stdout


@pytest.mark.parametrize("backend", BACKENDS)
def test_benchmark_small(store, tmp_path, backend):
    done = voc(store, "benchmark", "--only", "real_en", "--no-baselines", "--report", str(tmp_path), backend=backend)
    results = json.loads((tmp_path / "benchmarks.json").read_text(encoding="utf-8"))
    rows = sum(1 for _ in (REPO / "data" / "real" / "airline_en" / "test.jsonl").open(encoding="utf-8"))
    assert [r["name"] for r in results] == ["real_en"] and results[0]["rows"] == rows
    assert set(results[0]["heads"]) == set(SCHEMA.names)
    assert (tmp_path / "real_en" / "report.md").is_file() and "Real airline tweets" in done.stdout


@pytest.mark.parametrize("backend", BACKENDS)
def test_suggest_writes_a_file_that_trains_as_labelled(store, tmp_path, backend):
    out = tmp_path / "to_label.csv"
    args = ["suggest", str(REVIEWS), "--text-column", "review", "--id-column", "review_id", "--n", "8"]
    done = voc(store, *args, "--output", str(out), env={"VOC_BACKEND": backend or ""})
    assert "8 of " in done.stdout and "[] for no themes" in done.stdout
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")  # Excel reads the Korean rows as UTF-8
    frame = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert len(frame) == 8 and (frame[list(SCHEMA.names)] == "").all().all()
    assert (frame["guess_themes"] != "").all()  # "no theme" is written [], never an empty cell
    # A labeller who accepts every guess gets rows whose every head is labelled, themes included.
    accepted = frame.assign(**{t: frame[f"guess_{t}"] for t in SCHEMA.names})
    accepted.to_csv(tmp_path / "accepted.csv", index=False, encoding="utf-8-sig")
    rows = list(iter_labelled(tmp_path / "accepted.csv", SCHEMA))
    assert len(rows) == 8 and all(isinstance(r["themes"], list) for r in rows)


@pytest.mark.integration
def test_audit_small(store, tiny_backbone, tmp_path):
    data = tmp_path / "train.jsonl"
    data.write_text("".join((REPO / "data/voc/train.jsonl").open(encoding="utf-8").readlines()[:60]), encoding="utf-8")
    out = tmp_path / "audit.csv"
    args = ["audit", str(data), "--folds", "3", "--top", "5", "--no-ngrams", "--backbone", tiny_backbone]
    done = voc(store, *args, "--output", str(out))
    assert f"-> {out}" in done.stdout
    summary = out.with_name("audit.csv.md").read_text(encoding="utf-8")
    assert "| sentiment | 60 |" in summary and "| themes | 60 |" in summary
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")


def test_models_lists_the_store_and_diffs(store, exported_model_dir):
    done = voc(store, "models")
    assert store["TAG"] in done.stdout
    done = voc(store, "models", "--diff", store["TAG"], str(exported_model_dir))
    assert "labels:\n  (same)" in done.stdout


@pytest.mark.integration
@pytest.mark.parametrize("backend", BACKENDS)
def test_serve_answers_one_request(store, exported_model_dir, tmp_path, backend):
    from voc.tools.reliability.server import voc_serve

    env = {**store, "VOC_BACKEND": backend or ""}
    with voc_serve("voc-classifier:latest", Path(store["BENTOML_HOME"]), tmp_path / "serve.log", env) as served:
        items = [{"id": f"T-{i}", "text": t} for i, t in enumerate(TEXTS)]
        resp = httpx.post(f"{served.url}/classify", json={"items": items}, timeout=60)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["model"] == store["TAG"] and [r["id"] for r in body["results"]] == ["T-0", "T-1", "T-2"]
    for got, want in zip(body["results"], expected(exported_model_dir, backend, TEXTS)):
        assert_same_scores(got, want)
    assert "Traceback" not in (tmp_path / "serve.log").read_text(errors="replace")


@pytest.mark.parametrize("file", ["heads.safetensors", "encoder/model.safetensors"])
def test_a_truncated_torch_file_is_refused_on_the_onnx_backend_too(exported_model_dir, tmp_path, file):
    """The ONNX backend never reads these files, but voc suggest and --backend torch do: a load refuses a
    damaged one at once, naming it, whatever the backend."""
    import shutil

    from voc.models.errors import ModelFileError
    from voc.models.predictor import Predictor

    copy = Path(shutil.copytree(exported_model_dir, tmp_path / "m"))
    (copy / file).write_bytes((copy / file).read_bytes()[:100])
    assert Predictor.load(exported_model_dir).backend.startswith("onnx")
    with pytest.raises(ModelFileError, match=rf"{file}: truncated or not a safetensors file"):
        Predictor.load(copy)
