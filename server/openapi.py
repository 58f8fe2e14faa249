"""OpenAPI: document every error response as the RFC 9457 problem details the app really sends."""

from __future__ import annotations

from litestar import Litestar
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Schema

from server.errors import PROBLEM

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
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def document_problem_responses(app: Litestar) -> None:
    """Replace Litestar's default error body schema with problem+json on every operation."""
    schema = app.openapi_schema
    for path_item in (schema.paths or {}).values():
        for method in _METHODS:
            operation = getattr(path_item, method, None)
            if operation is None or not operation.responses:
                continue
            for code, response in operation.responses.items():
                if code.startswith(("4", "5")) and isinstance(response, OpenAPIResponse):
                    response.content = {PROBLEM: OpenAPIMediaType(schema=PROBLEM_SCHEMA)}
