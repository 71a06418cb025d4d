"""Transports: the only code that touches the wire (see base.Transport)."""

from .base import Transport, TransportOptions
from .mock import MockTransport

__all__ = ["MockTransport", "Transport", "TransportOptions"]
