"""The real service (`bentoml serve` on a free loopback port) with the tiny model: contract, health, bad input."""

from __future__ import annotations

import concurrent.futures
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from serving.contract import MAX_BODY_BYTES, MAX_ITEMS, MAX_TEXT_CHARS

REPO = Path(__file__).resolve().parents[1]
TEXTS = ["배송이 2주째 안 와요. 환불해 주세요", "the agent was kind and fixed it", "환불 refund please", "ok"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def url(tiny_model_dir, tmp_path_factory):
    """Base URL of a running service; the server is stopped after the module."""
    port = free_port()
    env = {**os.environ, "VOC_MODEL": str(tiny_model_dir), "BENTOML_HOME": str(tmp_path_factory.mktemp("bentoml"))}
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    cmd = [sys.executable, "-m", "bentoml", "serve", "serving.service:VocService", "--host", "127.0.0.1"]
    with open(log, "wb") as out:
        proc = subprocess.Popen([*cmd, "--port", str(port)], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"bentoml serve exited:\n{log.read_text()[-3000:]}"
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        else:
            pytest.fail(f"service not ready in 90 s:\n{log.read_text()[-3000:]}")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def classify(url: str, body, **kwargs) -> httpx.Response:
    return httpx.post(f"{url}/classify", json=body, timeout=30, **kwargs)


def test_contract_order_and_ids(url):
    items = [{"id": f"T-{i}", "text": t} for i, t in enumerate(TEXTS)]
    items[1].pop("id")
    resp = classify(url, {"items": items})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["model"] == "voc-classifier:tiny"
    assert [r["id"] for r in body["results"]] == ["T-0", None, "T-2", "T-3"]
    assert [r["language"] for r in body["results"]] == ["ko", "en", "mixed", "en"]
    for r in body["results"]:
        assert set(r) == {"id", "language", "sentiment", "themes", "escalation", "truncated"}
        assert r["sentiment"]["label"] in r["sentiment"]["scores"]
        assert set(r["themes"]["scores"]) == {"speed", "empathy", "resolution", "trust"}
        assert set(r["themes"]["labels"]) <= set(r["themes"]["scores"])
        assert set(r["escalation"]["scores"]) == {"low", "medium", "high"}
        assert r["truncated"] is False


def test_explain_adds_evidence_and_changes_nothing_else(url):
    items = [{"id": f"T-{i}", "text": t} for i, t in enumerate(TEXTS)]
    plain = classify(url, {"items": items}).json()["results"]
    explained = classify(url, {"items": items, "explain": True})
    assert explained.status_code == 200, explained.text
    assert all("evidence" not in r for r in plain)
    for item, a, b in zip(items, plain, explained.json()["results"]):
        evidence = b.pop("evidence")
        assert a == b
        assert set(evidence) == {"sentiment", "themes", "escalation"}
        assert set(evidence["themes"]) == set(a["themes"]["labels"])
        for span in evidence["sentiment"]:
            assert item["text"][span["start"] : span["end"]] == span["text"]


def test_results_do_not_depend_on_the_other_items_or_concurrency(url):
    alone = [classify(url, {"items": [{"text": t}]}).json()["results"][0] for t in TEXTS]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        together = list(pool.map(lambda t: classify(url, {"items": [{"text": t}]}).json()["results"][0], TEXTS * 4))
    batch = classify(url, {"items": [{"text": t} for t in TEXTS]}).json()["results"]
    for got in (together[: len(TEXTS)], together[-len(TEXTS) :], batch):
        for a, b in zip(alone, got):
            assert a["sentiment"]["label"] == b["sentiment"]["label"]
            assert a["escalation"]["scores"] == pytest.approx(b["escalation"]["scores"], abs=1e-3)


def test_long_text_is_truncated_and_flagged(url):
    resp = classify(url, {"items": [{"text": "배송 " * 500}]})
    assert resp.status_code == 200, resp.text
    assert resp.json()["results"][0]["truncated"] is True


def test_health_readiness_and_metrics(url):
    assert httpx.get(f"{url}/healthz").status_code == 200
    assert httpx.get(f"{url}/readyz").status_code == 200
    classify(url, {"items": [{"text": "ok"}]})
    metrics = httpx.get(f"{url}/metrics")
    assert metrics.status_code == 200
    assert 'endpoint="/classify"' in metrics.text and "voc_batch_texts" in metrics.text


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"items": [{"text": ""}]}, "empty"),
        ({"items": [{"text": " \n\t "}]}, "empty"),
        ({"items": [{"text": "x" * (MAX_TEXT_CHARS + 1)}]}, "over the limit"),
        ({"items": [{"text": "ok"}] * (MAX_ITEMS + 1)}, "at most"),
        ({"items": []}, "at least 1"),
        ({"items": [{"text": "ok", "lang": "ko"}]}, "Extra inputs"),
        ({"items": [{"text": "ok"}], "debug": True}, "Extra inputs"),
        ({"texts": ["ok"]}, "Field required"),
        ([{"text": "ok"}], "object"),
        ({"items": "ok"}, "list"),
        ({"items": [{"text": 42}]}, "string"),
        ({"items": [{"id": 7, "text": "ok"}]}, "string"),
        ({"items": [{"text": "ok"}], "explain": "yes"}, "boolean"),
    ],
)
def test_bad_request_is_a_400_that_says_what_to_fix(url, body, fragment):
    resp = classify(url, body)
    assert resp.status_code == 400, resp.text
    assert fragment in resp.text


def test_invalid_json_is_a_400(url):
    resp = httpx.post(f"{url}/classify", content=b'{"items": [', headers={"content-type": "application/json"})
    assert resp.status_code == 400 and "json" in resp.text.lower()


def test_invalid_utf8_is_a_400(url):
    body = b'{"items": [{"text": "\xff\xfe bad"}]}'
    resp = httpx.post(f"{url}/classify", content=body, headers={"content-type": "application/json"})
    assert resp.status_code == 400 and "UTF-8" in resp.json()["error"]


def test_oversized_body_is_a_413(url):
    body = b'{"items": [{"text": "' + b"x" * MAX_BODY_BYTES + b'"}]}'
    resp = httpx.post(f"{url}/classify", content=body, headers={"content-type": "application/json"})
    assert resp.status_code == 413 and "fewer or shorter" in resp.json()["error"]


def test_oversized_chunked_body_is_a_413(url):
    def chunks():
        yield b'{"items": [{"text": "'
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b"x" * 65536
        yield b'"}]}'

    resp = httpx.post(f"{url}/classify", content=chunks(), headers={"content-type": "application/json"})
    assert resp.status_code == 413
