"""OpenAPI: document every error response as the RFC 9457 problem details the app really sends."""

from __future__ import annotations

from litestar import Litestar
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Schema

from server.core.errors import PROBLEM

PROBLEM_SCHEMA = Schema(
    type=OpenAPIType.OBJECT,
    title="ProblemDetails",
    required=["title", "status", "detail"],
    properties={
        "type": Schema(type=OpenAPIType.STRING),
        "title": Schema(type=OpenAPIType.STRING),
        "status": Schema(type=OpenAPIType.INTEGER),
        "detail": Schema(type=OpenAPIType.STRING),
        "errors": Schema(
            type=OpenAPIType.ARRAY,
            items=Schema(
                type=OpenAPIType.OBJECT,
                properties={
                    "field": Schema(type=OpenAPIType.STRING),
                    "message": Schema(type=OpenAPIType.STRING),
                },
            ),
        ),
    },
)
CSV_SCHEMA = Schema(type=OpenAPIType.STRING, description="CSV with a header row")
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def document_problem_responses(app: Litestar) -> None:
    """Error bodies are problem+json everywhere; list endpoints with `format` also answer CSV."""
    schema = app.openapi_schema
    for path_item in (schema.paths or {}).values():
        for method in _METHODS:
            operation = getattr(path_item, method, None)
            if operation is None or not operation.responses:
                continue
            offers_csv = any(getattr(p, "name", None) == "format" for p in operation.parameters or [])
            for code, response in operation.responses.items():
                if not isinstance(response, OpenAPIResponse):
                    continue
                if code.startswith(("4", "5")):
                    response.content = {PROBLEM: OpenAPIMediaType(schema=PROBLEM_SCHEMA)}
                elif code.startswith("2") and offers_csv:
                    # `?format=csv` (or Accept: text/csv) answers the same rows as a CSV file.
                    response.content = {
                        **(response.content or {}),
                        "text/csv": OpenAPIMediaType(schema=CSV_SCHEMA),
                    }
