"""``/docs.json``: the service's OpenAPI 3.1 document, written from the models it validates with.

BentoML 1.4.39 generates the document with its own defaults (version "None", contact "BentoML Team", server
".", schemas named after its wrappers such as ``ClassifyRequestIODescriptor``, a ``TaskStatusResponse`` that no
route uses, only 400/404/500 with a 400 ``detail`` typed as a string) and offers no hook to change them.
:class:`DescribedService` keeps what BentoML says about its operator routes (``/healthz``, ...) and writes
the rest: voc's version and licence, the request and response models of each API (``/classify``'s are built
from the model's label schema at start-up), the error bodies the service sends and every status code
``/classify`` can answer (``voc.serving.home.STATUS_CODES``). JSON Schema 2020-12 as pydantic writes it is
OpenAPI 3.1's own schema dialect, so the models go in unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import bentoml
import yaml
from pydantic import BaseModel, create_model
from pydantic.json_schema import GenerateJsonSchema, models_json_schema

from voc.models.paths import package_version

from .batcher import Overloaded
from .contract import MAX_BODY_BYTES, REQUEST_TIMEOUT_SECONDS
from .guard import BODY_SECONDS
from .home import DESCRIPTION, EXAMPLE_REQUEST, STATUS_CODES
from .validation import BadRequest, ErrorMessage

OPENAPI_VERSION = "3.1.0"
REF_TEMPLATE = "#/components/schemas/{model}"
CONTACT = {"name": "voc maintainers"}
LICENSE = {"name": "Apache-2.0", "identifier": "Apache-2.0"}  # pyproject.toml's licence
SERVER = {"url": "/", "description": "this service (the host that serves this document)"}
# The body of each status code, when it is not ErrorMessage (200: the API's own response model).
BODIES: dict[int, type[BaseModel]] = {400: BadRequest}
# What the service answers with each error status (voc.serving.guard, voc.serving.batcher, BentoML's own); 413 and 503
# have other causes too (the reading and explain budgets, the 25 s deadline), described in STATUS_CODES.
ERROR_EXAMPLES = {
    408: f"request body still arriving after {BODY_SECONDS:.0f} s (65,536 bytes so far): send the whole body at once",
    413: f"request body is over {MAX_BODY_BYTES:,} bytes: send fewer or shorter items per request",
    415: "Content-Type 'text/plain' is not accepted: send JSON as application/json",
    503: str(Overloaded(retry_after=3)),
    504: f"Not able to process the request in {REQUEST_TIMEOUT_SECONDS} seconds",
    500: "An unexpected error has occurred, please check the server log.",
}
TAGS = [
    {"name": "Service APIs", "description": "Scoring customer feedback."},
    {"name": "Infrastructure", "description": "For operators: health, readiness and Prometheus metrics."},
]
HEADERS = {
    503: {
        "Retry-After": {
            "description": "Seconds to wait before sending the request again.",
            "schema": {"type": "integer", "minimum": 1},
        }
    }
}


def io_model(model: type[BaseModel]) -> type[BaseModel]:
    """``model`` as a BentoML IO descriptor under its own name. Given a plain model, BentoML wraps it as
    ``<name>IODescriptor``, the name its validation errors (and its OpenAPI schemas) would then carry."""
    return create_model(model.__name__, __base__=(bentoml.IODescriptor, model), __module__=model.__module__)


class _InOrder(GenerateJsonSchema):
    """JSON Schema with examples' keys in the order the models give them (pydantic sorts them)."""

    def sort(self, value: Any, parent_key: str | None = None) -> Any:
        return value


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF_TEMPLATE.format(model=model.__name__)}


def _body(code: int, model: type[BaseModel]) -> dict[str, Any]:
    """The response body of ``code``: ``model``, with the service's real message as the example of an error."""
    example = {"example": {"error": ERROR_EXAMPLES[code]}} if code in ERROR_EXAMPLES else {}
    return {"content": {"application/json": {"schema": _ref(model), **example}}}


def api_path(api: Any) -> dict[str, Any]:
    """The OpenAPI path item of a BentoML API: JSON in, JSON out, every status of ``STATUS_CODES``."""
    return {
        "post": {
            "tags": ["Service APIs"],
            "operationId": api.name,
            "summary": (api.doc or "").split(". ")[0].rstrip("."),
            "description": api.doc or "",
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref(api.input_spec), "example": EXAMPLE_REQUEST}},
            },
            "responses": {
                str(status.code): {
                    "description": status.meaning,
                    **({"headers": HEADERS[status.code]} if status.code in HEADERS else {}),
                    **_body(
                        status.code, api.output_spec if status.code == 200 else BODIES.get(status.code, ErrorMessage)
                    ),
                }
                for status in STATUS_CODES
            },
        }
    }


def openapi_document(service: bentoml.Service, generated: dict[str, Any]) -> dict[str, Any]:
    """The document for ``service``; ``generated`` (BentoML's) gives the operator routes' paths."""
    apis = {api.route: api for api in service.apis.values()}
    models = [(api.input_spec, "validation") for api in apis.values()]
    models += [(m, "serialization") for m in (*(api.output_spec for api in apis.values()), BadRequest, ErrorMessage)]
    _, schemas = models_json_schema(models, ref_template=REF_TEMPLATE, schema_generator=_InOrder)
    operator_paths = {path: item for path, item in generated["paths"].items() if path not in apis}
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": service.name,
            "version": package_version(),
            "description": DESCRIPTION,
            "contact": CONTACT,
            "license": LICENSE,
        },
        "servers": [SERVER],
        "tags": TAGS,
        "paths": {**{route: api_path(api) for route, api in apis.items()}, **operator_paths},
        "components": {"schemas": schemas["$defs"]},
    }


@dataclass(frozen=True)
class OpenAPIDocument:
    """What BentoML serves at /docs.json (``asdict``) and writes into a Bento (``apis/openapi.yaml``)."""

    content: dict[str, Any]

    def asdict(self) -> dict[str, Any]:
        return self.content


yaml.add_representer(OpenAPIDocument, lambda dumper, doc: dumper.represent_dict(doc.content))


class DescribedService(bentoml.Service):
    """A BentoML service described in voc's words: ``DESCRIPTION`` rather than BentoML's generic README, and
    the OpenAPI document of :func:`openapi_document`."""

    @property
    def doc(self) -> str:
        return DESCRIPTION

    @property
    def openapi_spec(self) -> OpenAPIDocument:  # type: ignore[override]
        return OpenAPIDocument(openapi_document(self, super().openapi_spec.asdict()))
