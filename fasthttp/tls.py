"""SSL contexts: built once per configuration and shared, never per request.

``verify=True`` uses the system trust store (``ssl.create_default_context``
honours ``SSL_CERT_FILE`` and ``SSL_CERT_DIR``); a path is a CA bundle file or
directory; an ``ssl.SSLContext`` is used as given; ``False`` disables checks and
logs a warning. ``cert`` is a client certificate: a path to a PEM file holding
certificate and key, or a ``(certfile, keyfile)`` or ``(certfile, keyfile, password)`` tuple.
"""

from __future__ import annotations

import logging
import os
import ssl
from typing import TypeAlias

__all__ = ["CertTypes", "VerifyTypes", "build_ssl_context"]

VerifyTypes: TypeAlias = bool | str | os.PathLike[str] | ssl.SSLContext
CertTypes: TypeAlias = str | tuple[str, str] | tuple[str, str, str] | None

logger = logging.getLogger("fasthttp.tls")
# The verify=True context, shared by sessions, per value of the variables that choose its CAs.
_default_contexts: dict[tuple[str | None, str | None], ssl.SSLContext] = {}


def _default() -> ssl.SSLContext:
    key = (os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
    context = _default_contexts.get(key)
    if context is None:
        context = _default_contexts[key] = ssl.create_default_context()
    return context


def build_ssl_context(verify: VerifyTypes = True, cert: CertTypes = None, *, http2: bool = False) -> ssl.SSLContext:
    """The SSL context for a session's settings (the default one is shared process-wide)."""
    if isinstance(verify, ssl.SSLContext):
        if cert is not None:
            _load_cert(verify, cert)
        return verify
    if verify is True and cert is None and not http2:
        return _default()
    if verify is False:
        logger.warning(
            "TLS certificate verification is OFF (verify=False): any server can impersonate the ones "
            "you connect to. Pass verify='/path/to/ca.pem' to trust a private CA instead."
        )
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif verify is True:
        context = ssl.create_default_context()
    elif isinstance(verify, (str, os.PathLike)):
        path = os.fspath(verify)
        if os.path.isdir(path):
            context = ssl.create_default_context(capath=path)
        elif os.path.isfile(path):
            context = ssl.create_default_context(cafile=path)
        else:
            raise ValueError(f"verify={path!r} is neither a CA bundle file nor a directory of certificates.")
    else:
        raise TypeError(
            f"verify= must be True, False, a CA bundle path or an ssl.SSLContext; got {type(verify).__name__}."
        )
    if http2:
        context.set_alpn_protocols(["h2", "http/1.1"])
    if cert is not None:
        _load_cert(context, cert)
    return context


def _load_cert(context: ssl.SSLContext, cert: CertTypes) -> None:
    if isinstance(cert, str):
        context.load_cert_chain(cert)
    elif isinstance(cert, tuple) and len(cert) == 2:
        context.load_cert_chain(cert[0], cert[1])
    elif isinstance(cert, tuple) and len(cert) == 3:
        context.load_cert_chain(cert[0], cert[1], cert[2])
    else:
        raise TypeError("cert= must be a PEM path, or a (certfile, keyfile[, password]) tuple.")
