"""Client errors in the server log: one WARNING line with where the request was wrong, never its text.

BentoML 1.4.39 logs every request that fails validation at ERROR with the full traceback, and pydantic's
message quotes the input (``input_value='...'``): customer text in the error log, 25 lines per bad request.
:class:`ClientErrorFilter` rewrites those records, keeping the field locations and error types only.
"""

from __future__ import annotations

import logging

# The logger BentoML's API handler reports request errors through (``log_exception``).
BENTOML_REQUEST_LOGGER = "bentoml._internal.server.http_app"


def client_error_summary(exc: BaseException) -> str | None:
    """A one-line description of a client's mistake without its data; ``None`` for a server error."""
    from bentoml.exceptions import BentoMLException
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        where = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['type']}" for e in exc.errors()[:5])
        return f"400: {exc.error_count()} validation error(s) ({where})"
    if isinstance(exc, BentoMLException) and exc.error_code.value < 500:
        return f"{exc.error_code.value}: {type(exc).__name__}"
    return None


class ClientErrorFilter(logging.Filter):
    """Turn a logged client error (a 4xx) into one WARNING line without the request's content."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        summary = client_error_summary(exc) if exc is not None else None
        if summary is not None:
            record.msg, record.args = "client error on %s [%s]: %s", (*(record.args or ("?", "?")), summary)
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info, record.exc_text = None, None
        return True


def install() -> None:
    """Attach the filter to BentoML's request-error logger (once)."""
    logger = logging.getLogger(BENTOML_REQUEST_LOGGER)
    if not any(isinstance(f, ClientErrorFilter) for f in logger.filters):
        logger.addFilter(ClientErrorFilter())
