"""The real service (`voc serve` on a free loopback port) with the tiny model: contract, health, bad input,
bounded metrics, client errors logged without their text, metrics of its own per service."""

from __future__ import annotations

import concurrent.futures
import gzip
import json
import re
import socket
import time
from pathlib import Path

import httpx
import pytest

from voc.models.schema import LabelSchema
from voc.serving.contract import MAX_BODY_BYTES, MAX_ID_CHARS, MAX_ITEMS, MAX_TEXT_CHARS
from voc.serving.explain_budget import MAX_EXPLAIN_PASSES
from voc.serving.guard import BODY_IDLE_SECONDS
from voc.serving.reading_budget import MAX_REQUEST_TOKENS
from voc.tools.reliability import Tally
from voc.tools.reliability.http_cases import CASES, check_log, largest_explain, run_http_cases
from voc.tools.reliability.server import voc_serve
from voc.tools.reliability.soak import corrupt_model_serve, explain_burst

REPO = Path(__file__).resolve().parents[1]
SCHEMA = LabelSchema.load()  # the tiny model's heads are built from the bundled schema
TEXTS = ["배송이 2주째 안 와요. 환불해 주세요", "the agent was kind and fixed it", "환불 refund please", "ok"]


@pytest.fixture(scope="module")
def service(tiny_model_dir, tmp_path_factory):
    """A running service (``voc.tools.reliability.server.Served``) and its BentoML home; stopped after the module."""
    home, log = tmp_path_factory.mktemp("bentoml"), tmp_path_factory.mktemp("serve") / "serve.log"
    with voc_serve(tiny_model_dir, home, log) as server:
        yield server, home


@pytest.fixture(scope="module")
def served(service):
    """``(base URL, log file, BentoML home)`` of the running service."""
    server, home = service
    return server.url, server.log, home


@pytest.fixture(scope="module")
def url(served) -> str:
    return served[0]


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
        for task in SCHEMA.tasks:
            assert list(r[task.name]["scores"]) == list(task.labels)
        assert set(r["themes"]["labels"]) <= set(r["themes"]["scores"])
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


def test_unknown_paths_are_404_and_share_one_metrics_label(url):
    paths = [f"/no/such/{i}" for i in range(30)] + ["/../../etc/passwd", "/classify/x"]
    assert {httpx.get(f"{url}{p}").status_code for p in paths} == {404}
    assert "no such path" in httpx.get(f"{url}/nope").json()["error"]
    metrics = httpx.get(f"{url}/metrics").text
    assert "/no/such" not in metrics and "passwd" not in metrics
    assert 'voc_http_requests_total{endpoint="other",http_response_code="404"}' in metrics


def test_answers_are_counted_per_label_of_the_schema_and_request_size(url):
    from voc.models.schema import LabelSchema

    classify(url, {"items": [{"text": t} for t in TEXTS]})
    metrics = httpx.get(f"{url}/metrics").text
    for task in LabelSchema.load().tasks:
        for label in task.labels:
            assert f'voc_predicted_labels_total{{label="{label}",task="{task.name}"}}' in metrics
    assert 'voc_predicted_labels_total{label="mixed",task="language"}' in metrics
    assert 'voc_request_items_bucket{le="4.0"}' in metrics


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"items": [{"text": ""}]}, "empty"),
        ({"items": [{"text": " \n\t "}]}, "empty"),
        ({"items": [{"text": "\u200b\u200d\ufeff"}]}, "no visible characters"),
        ({"items": [{"text": "\u202e"}]}, "no visible characters"),
        ({"items": [{"text": "\x00\x00"}]}, "no visible characters"),
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


@pytest.mark.parametrize(
    "content_type", ["text/plain", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded"]
)
def test_a_body_that_is_not_json_is_a_415(url, content_type):
    resp = httpx.post(f"{url}/classify", content=b'{"items": [{"text": "ok"}]}', headers={"content-type": content_type})
    assert resp.status_code == 415 and "application/json" in resp.json()["error"]


def test_a_byte_order_mark_is_a_400_that_says_so(url):
    body = b"\xef\xbb\xbf" + json.dumps({"items": [{"text": "ok"}]}).encode()
    resp = httpx.post(f"{url}/classify", content=body, headers={"content-type": "application/json"})
    assert resp.status_code == 400 and "byte-order mark" in resp.json()["error"]


def test_the_worst_case_request_within_the_item_limits_fits_the_body_cap(url):
    """Not refused for its size. (The tiny model reads a run of emoji as one piece, so it is within the reading
    budget here; the default model reads each emoji, and answers 413 that names the tokens.)"""
    emoji = "\U0001f600"
    items = [{"id": emoji * MAX_ID_CHARS, "text": emoji * MAX_TEXT_CHARS} for _ in range(MAX_ITEMS)]
    body = json.dumps({"items": items}, indent=2).encode()  # ensure_ascii: 12 bytes per emoji
    assert len(body) <= MAX_BODY_BYTES
    resp = httpx.post(f"{url}/classify", content=body, headers={"content-type": "application/json"}, timeout=60)
    assert resp.status_code == 200, resp.text[:300]
    assert len(resp.json()["results"]) == MAX_ITEMS


def test_a_request_over_the_reading_budget_is_a_413_that_says_how_many_items_fit(url):
    long_items = [{"id": f"L-{i}", "text": ("환불 해주세요 " * 600)[:MAX_TEXT_CHARS]} for i in range(MAX_ITEMS)]
    resp = classify(url, {"items": long_items})
    error = resp.json()["error"]
    assert resp.status_code == 413 and f"over the limit of {MAX_REQUEST_TOKENS:,} per request" in error
    fit = int(re.search(r"send the first (\d+) in this request", error).group(1))
    assert 0 < fit < MAX_ITEMS
    assert classify(url, {"items": long_items[:fit]}).status_code == 200  # what it says fits, fits
    assert classify(url, {"items": long_items[: fit + 1]}).status_code == 413
    assert f"at most {MAX_REQUEST_TOKENS:,} tokens" in httpx.get(f"{url}/").text


@pytest.mark.parametrize(
    "headers, fragment",
    [
        ({}, "without a Content-Type"),
        ({"content-type": "application/json", "content-encoding": "gzip"}, "send the JSON uncompressed"),
    ],
)
def test_no_content_type_or_a_compressed_body_is_a_415_that_says_what_to_send(url, headers, fragment):
    body = b'{"items": [{"text": "ok"}]}'
    body = gzip.compress(body) if "content-encoding" in headers else body
    resp = httpx.post(f"{url}/classify", content=body, headers=headers)
    assert resp.status_code == 415 and fragment in resp.json()["error"]


def test_a_key_twice_in_one_object_is_a_400_not_the_last_value_silently(url):
    body = b'{"items": [{"text": "hi", "text": "bye"}]}'
    resp = httpx.post(f"{url}/classify", content=body, headers={"content-type": "application/json"})
    assert resp.status_code == 400 and "the key 'text' twice" in resp.json()["error"]


def test_a_wrong_method_is_a_json_405_with_allow(url):
    resp = httpx.get(f"{url}/classify")
    assert resp.status_code == 405 and resp.headers["allow"] == "POST"
    assert resp.json()["error"] == "/classify takes POST only, not GET"


def test_a_body_shorter_than_its_content_length_is_a_400_without_waiting_for_the_timeout(url):
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        head = "POST /classify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
        started = time.monotonic()
        conn.sendall(head.encode() + b'{"items": [')
        answer = ""
        while "}" not in answer:
            answer += conn.recv(4096).decode()
    assert answer.startswith("HTTP/1.1 400") and "ended short" in answer
    assert time.monotonic() - started < BODY_IDLE_SECONDS + 3


def test_client_errors_are_logged_as_one_warning_line_without_the_text(served):
    url, log, _ = served
    secret = "SECRET-CUSTOMER-TEXT"
    for body in ({"items": [{"text": secret * 300}]}, {"items": [{"text": secret, "extra": secret}]}):
        assert classify(url, body).status_code == 400
    time.sleep(0.5)
    text = log.read_text(errors="replace")
    assert secret not in text and "Traceback" not in text
    assert "WARNING" in text and "client error on /classify [POST]: 400" in text


def test_a_second_service_on_the_host_keeps_the_first_ones_metrics(served, tiny_model_dir, tmp_path):
    url, _, home = served
    classify(url, {"items": [{"text": "ok"}]})
    series = 'voc_http_requests_total{endpoint="/classify",http_response_code="200"}'
    assert series in httpx.get(f"{url}/metrics").text
    with voc_serve(tiny_model_dir, home, tmp_path / "second.log") as server:
        second = server.url
        assert httpx.get(f"{second}/readyz").status_code == 200
        assert series in httpx.get(f"{url}/metrics").text
    assert sorted(p.name for p in (home / "prometheus").iterdir()) == sorted(
        f"voc-127.0.0.1-{u.rsplit(':', 1)[1]}" for u in (url, second)
    )


def test_a_model_that_cannot_load_stops_voc_serve_at_once_with_one_line(tiny_model_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("BENTOML_HOME", str(tmp_path / "bentoml"))
    tally = Tally()
    note = corrupt_model_serve(tiny_model_dir, tmp_path, tally)
    assert (tally.failures, tally.crashes) == ([], 0), note
    assert "exited 2" in note and "heads.safetensors" in note


def test_the_reliability_suite_http_cases_get_their_expected_answers_and_no_5xx(served):
    url, log, _ = served
    tally = Tally()
    run_http_cases(url, tally)
    assert tally.tried["http"] == len(CASES) + 3 >= 50
    time.sleep(0.5)
    note = check_log(log.read_text(errors="replace"), tally)
    assert (tally.failures, tally.server_errors, tally.crashes, tally.forged_lines) == ([], 0, 0, 0), note


def test_explain_over_its_budget_is_a_413_that_says_how_many_items_fit(url):
    resp = classify(url, largest_explain(MAX_ITEMS))
    assert resp.status_code == 413
    assert "send the first 2 in this request" in resp.json()["error"]
    unexplained = classify(url, {**largest_explain(MAX_ITEMS), "explain": False})  # over the reading budget
    assert unexplained.status_code == 413 and "tokens" in unexplained.json()["error"]
    budget = f"at most {MAX_EXPLAIN_PASSES} forward passes"  # documented where it is enforced: / and /docs
    assert budget in httpx.get(f"{url}/").text and budget in httpx.get(f"{url}/docs.json").json()["info"]["description"]


def test_a_burst_of_the_largest_explain_requests_gets_only_200_or_503(service):
    server, _ = service
    tally = Tally()
    note = explain_burst(server, server.worker_rss_mb(), 5, 1, tally)
    assert (tally.failures, tally.server_errors) == ([], 0), note


def test_on_error_item_scores_the_good_items_and_reports_the_bad_ones(url):
    items = [{"id": f"T-{i}", "text": "ok"} for i in range(MAX_ITEMS)]
    items[5] = {"id": "T-5", "text": " "}
    resp = classify(url, {"items": items, "on_error": "item"})
    assert resp.status_code == 200, resp.text
    results = resp.json()["results"]
    assert [r["id"] for r in results] == [item["id"] for item in items]
    assert results[5]["id"] == "T-5" and results[5]["error"].startswith("text is empty or has no visible characters")
    assert all("sentiment" in r for i, r in enumerate(results) if i != 5)
    refused = classify(url, {"items": items})
    assert refused.status_code == 400 and refused.json()["detail"][0]["loc"] == ["items", 5, "text"]
    assert classify(url, {"items": items, "on_error": "skip"}).status_code == 400


def test_openapi_describes_typed_results_with_examples(url):
    spec = httpx.get(f"{url}/docs.json").json()
    schemas = spec["components"]["schemas"]
    result = schemas["Result"]["properties"]
    assert {"id", "language", "truncated", *SCHEMA.names} <= set(result)
    assert "on_error" in schemas["ClassifyRequest"]["properties"] and "ItemError" in schemas
    # Swagger UI invents "additionalProp1" for a map without an example: every map has one.
    maps = [
        s for schema in schemas.values() for s in schema.get("properties", {}).values() if "additionalProperties" in s
    ]
    assert maps and all("example" in s for s in maps)
    description = spec["info"]["description"]
    assert "BentoML" not in description and f"{MAX_ITEMS} items" in description and "413" in description
    assert f"{MAX_TEXT_CHARS:,}" in schemas["Item"]["properties"]["text"]["description"]


def test_openapi_is_the_services_own_with_its_version_limits_labels_and_real_status_codes(url):
    from voc.models.paths import package_version

    spec = httpx.get(f"{url}/docs.json").json()
    assert spec["info"]["version"] == package_version() != "unknown"
    assert "BentoML" not in json.dumps(spec["info"]) and spec["info"]["license"]["identifier"] == "Apache-2.0"
    assert spec["servers"] == [{"url": "/", "description": "this service (the host that serves this document)"}]
    schemas = spec["components"]["schemas"]
    assert not [name for name in schemas if "IODescriptor" in name or name == "TaskStatusResponse"]
    operation = spec["paths"]["/classify"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ClassifyRequest"
    }
    item = schemas["Item"]["properties"]
    assert (item["text"]["minLength"], item["text"]["maxLength"]) == (1, MAX_TEXT_CHARS)
    assert item["id"]["anyOf"][0]["maxLength"] == MAX_ID_CHARS
    for task in SCHEMA.tasks:  # labels are enums of the model's schema, scores one property per label
        head = schemas[schemas["Result"]["properties"][task.name]["$ref"].rsplit("/", 1)[1]]["properties"]
        decided = head["labels"]["items"] if task.multi else head["label"]
        assert decided["enum"] == list(task.labels)
        scores = schemas[head["scores"]["$ref"].rsplit("/", 1)[1]]
        assert list(scores["properties"]) == scores["required"] == list(task.labels)
    assert set(operation["responses"]) == {"200", "400", "408", "413", "415", "503", "504", "500"}  # never 404
    assert operation["responses"]["503"]["headers"]["Retry-After"]["schema"]["type"] == "integer"
    examples = {code: r["content"]["application/json"].get("example") for code, r in operation["responses"].items()}
    headers = {"content-type": "text/plain"}
    assert httpx.post(f"{url}/classify", content=b"{}", headers=headers).json() == examples["415"]
    too_big = b'{"items": [{"text": "' + b"x" * MAX_BODY_BYTES + b'"}]}'
    json_body = {"content-type": "application/json"}
    assert httpx.post(f"{url}/classify", content=too_big, headers=json_body).json() == examples["413"]  # real answers
    detail = schemas["BadRequest"]["properties"]["detail"]["anyOf"][0]
    assert detail == {"type": "array", "items": {"$ref": "#/components/schemas/Problem"}}
    assert schemas["Problem"]["required"] == ["type", "loc", "msg"]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            {"items": [{"text": " "}]},
            "1 problem in the request: items[0].text: text is empty or has no visible characters",
        ),
        (
            {"items": [{"text": 5, "lang": "ko"}]},
            "2 problems in the request: items[0].text: Input should be a valid string (send a JSON string); "
            "items[0].lang: Extra inputs are not permitted (remove it",
        ),
        ([{"text": "ok"}], "1 problem in the request: the body: Input should be an object (send a JSON object such as"),
        (
            {"items": [{"text": "ok"}] * (MAX_ITEMS + 1)},
            f"1 problem in the request: items: List should have at most {MAX_ITEMS} items",
        ),
    ],
)
def test_a_validation_400_says_in_plain_words_what_and_where_to_fix(url, body, error):
    resp = classify(url, body)
    assert resp.status_code == 400, resp.text
    answer = resp.json()
    assert answer["error"].startswith(error), answer["error"]
    assert "validation error" not in answer["error"] and "IODescriptor" not in resp.text
    assert answer["detail"] and all({"type", "loc", "msg"} <= set(p) for p in answer["detail"])


def test_home_page_and_docs_are_the_services_own(url):
    home = httpx.get(f"{url}/")
    assert home.status_code == 200 and "curl" in home.text and 'href="docs"' in home.text
    assert "`" not in home.text and "<code>Retry-After</code>" in home.text  # Markdown code spans as HTML
    assert all(f"<dt>{code}</dt>" in home.text for code in (200, 400, 408, 413, 415, 503, 504, 500))
    assert "googletagmanager" not in home.text
    docs = httpx.get(f"{url}/docs")
    assert docs.status_code == 200 and "swagger-ui" in docs.text
    assert httpx.get(f"{url}/static_content/swagger-ui-bundle.js").status_code == 200


def tiny_model_with_schema(backbone: str, schema: LabelSchema, path: Path) -> Path:
    """A tiny random model (as conftest's ``tiny_model_dir``) whose heads are ``schema``'s."""
    import torch

    from voc.models.backbone import load_backbone
    from voc.models.classifier import VocClassifier
    from voc.models.predictor import Predictor

    torch.manual_seed(0)
    encoder, tokenizer = load_backbone(backbone)
    meta = {
        "base_model": backbone,
        "text_prefix": "",
        "max_length": 64,
        "thresholds": {t.name: dict.fromkeys(t.labels, 0.5) for t in schema.tasks if t.multi},
        "temperatures": dict.fromkeys(schema.names, 1.0),
        "alert": "escalation.high",
    }
    return Predictor(VocClassifier(encoder, schema), tokenizer, meta).save(path)


def test_a_head_added_to_labels_yaml_is_in_the_answer_and_the_openapi_and_a_removed_one_is_gone(
    tiny_backbone, tmp_path
):
    raw = SCHEMA.to_dict()
    del raw["tasks"]["themes"]  # one head removed, two added: the only change is the schema
    raw["tasks"]["urgency"] = {"type": "single", "labels": ["routine", "urgent"]}
    raw["tasks"]["topics"] = {"type": "multi", "labels": ["billing", "delivery"]}
    schema = LabelSchema.from_dict(raw)
    model = tiny_model_with_schema(tiny_backbone, schema, tmp_path / "model")
    with voc_serve(model, tmp_path / "bentoml", tmp_path / "serve.log") as server:
        resp = classify(server.url, {"items": [{"id": "a", "text": "환불 refund please"}], "explain": True})
        spec = httpx.get(f"{server.url}/docs.json").json()
    assert resp.status_code == 200, resp.text
    result = resp.json()["results"][0]
    assert set(result) == {"id", "language", "sentiment", "escalation", "urgency", "topics", "truncated", "evidence"}
    assert result["urgency"]["label"] in {"routine", "urgent"} and list(result["topics"]["scores"]) == [
        "billing",
        "delivery",
    ]
    assert set(result["evidence"]) == {"sentiment", "escalation", "urgency", "topics"}
    schemas = spec["components"]["schemas"]
    assert set(schemas["Result"]["required"]) == {"id", "language", "truncated", *schema.names}
    assert schemas["Urgency"]["properties"]["label"]["enum"] == ["routine", "urgent"]
    assert schemas["Topics"]["properties"]["labels"]["items"]["enum"] == ["billing", "delivery"]
    assert "Themes" not in schemas and "themes" not in schemas["Evidence"]["properties"]
