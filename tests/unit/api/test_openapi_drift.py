"""The committed OpenAPI document is the one the code generates (`settle api --write-openapi`)."""

from __future__ import annotations

import json

from entrypoints.cli.api import OPENAPI_PATH, render_openapi
from entrypoints.http.api.app import build_api
from entrypoints.http.api.settings import ApiSettings


def test_schemas_openapi_json_matches_the_generated_document() -> None:
    committed = OPENAPI_PATH.read_text()
    assert committed == render_openapi(), "run `settle api --write-openapi` and commit the result"


def test_every_route_but_health_documents_bearer_auth_and_problem_errors() -> None:
    document = json.loads(render_openapi())
    for path, operations in document["paths"].items():
        for operation in operations.values():
            responses = operation["responses"]
            if path in ("/healthz", "/readyz"):
                assert "security" not in operation and "401" not in responses
                continue
            assert operation["security"] == [{"HTTPBearer": []}], path
            assert set(responses["401"]["content"]) == {"application/problem+json"}, path


def test_the_document_is_stable_across_calls() -> None:
    api = build_api(ApiSettings())
    assert api.openapi() == api.openapi()
