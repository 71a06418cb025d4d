"""Pydantic validation for routes: ``request_model`` (before sending) and ``response_model``.

Pydantic is imported the first time a model is used, never by ``import fasthttp``.
Error messages name every failing field and why (``json.age: Input should be less
than or equal to 150``) and never repeat the rejected value, which may be a secret.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .exceptions import FastHTTPError

if TYPE_CHECKING:
    from .response import Response

__all__ = [
    "RequestValidationError",
    "ResponseValidationError",
    "describe_errors",
    "validate_request",
    "validate_response",
]


class RequestValidationError(FastHTTPError, ValueError):
    """A route's ``json=``/``data=`` did not match its ``request_model``; nothing was sent.

    ``errors`` holds Pydantic's error dicts without the input values.
    """

    def __init__(self, message: str, *, model: type, errors: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.model = model
        self.errors = errors


class ResponseValidationError(FastHTTPError, ValueError):
    """The response body did not match the route's ``response_model``; ``.response`` is kept."""

    def __init__(
        self, message: str, *, model: type, errors: list[dict[str, Any]], response: Response
    ) -> None:
        super().__init__(message)
        self.model = model
        self.errors = errors
        self.response = response


def _clean(errors: list[Any]) -> list[dict[str, Any]]:
    return [{k: v for k, v in dict(e).items() if k not in ("input", "ctx", "url")} for e in errors]


def describe_errors(errors: list[dict[str, Any]], source: str = "") -> str:
    """``field.path: why`` for every error, joined by ``; `` (values never shown)."""
    parts = []
    for error in errors:
        loc = ".".join(str(p) for p in error.get("loc", ()))
        path = ".".join(p for p in (source, loc) if p) or "body"
        parts.append(f"{path}: {error.get('msg', 'invalid')}")
    return "; ".join(parts)


def _validation_error_type() -> type[Exception]:
    from pydantic import ValidationError

    return ValidationError


def validate_request(model: type, json: Any, data: Any, where: str) -> None:
    """Raise RequestValidationError when the body about to be sent does not fit ``model``."""
    source, value = ("json", json) if json is not None else ("data", data)
    validation_error = _validation_error_type()
    try:
        if isinstance(value, (bytes, bytearray, str)):
            model.model_validate_json(value)  # type: ignore[attr-defined]
        else:
            model.model_validate({} if value is None else value)  # type: ignore[attr-defined]
    except validation_error as exc:
        errors = _clean(exc.errors())  # type: ignore[attr-defined]
        raise RequestValidationError(
            f"Request validation failed for {where} against {model.__name__}, so it was not "
            f"sent: {describe_errors(errors, source)}.",
            model=model,
            errors=errors,
        ) from None


def validate_response(model: type, response: Response, where: str) -> Any:
    """The response body parsed into ``model``; ResponseValidationError when it does not fit."""
    validation_error = _validation_error_type()
    try:
        return model.model_validate_json(response.content)  # type: ignore[attr-defined]
    except validation_error as exc:
        errors = _clean(exc.errors())  # type: ignore[attr-defined]
        raise ResponseValidationError(
            f"Response validation failed for {where} ({response.status_code}) against "
            f"{model.__name__}: {describe_errors(errors)}.",
            model=model,
            errors=errors,
            response=response,
        ) from None
