"""Middleware: the chain and the built-in middlewares."""

from .base import BaseMiddleware, CallNext, Middleware, compose, normalize_middleware

__all__ = ["BaseMiddleware", "CallNext", "Middleware", "compose", "normalize_middleware"]
