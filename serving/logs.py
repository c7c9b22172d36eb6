"""The server log: one line per event, in which a client can neither forge a line nor leave its text.

BentoML 1.4.39 logs every request that fails validation at ERROR with the full traceback, and pydantic's
message quotes the input (``input_value='...'``): customer text in the error log, 25 lines per bad request.
:class:`ClientErrorFilter` rewrites those records, keeping the field locations and error types only.

A path is the client's text too: ``/x%0A[CRITICAL] ...`` reaches the access log as a newline and a forged
line, and a 100 KB path as a 100 KB line. :class:`SafeArgs` escapes every control, format and line-breaking
character of a record's arguments (``\n`` -> ``\\n``, backslashes doubled) and caps each at
``MAX_ARG_CHARS``. It also raises the access line of a 5xx answer from INFO to WARNING (ERROR for a 500), so
that a timeout (504) or a shed request (503) shows at the level operators watch.
"""

from __future__ import annotations

import logging
import re
import unicodedata

# The logger BentoML's API handler reports request errors through (``log_exception``).
BENTOML_REQUEST_LOGGER = "bentoml._internal.server.http_app"
ACCESS_LOGGER = "bentoml.access"
# Loggers whose records carry a client's strings (paths, methods, addresses): BentoML's and the service's.
CLIENT_STRING_LOGGERS = (ACCESS_LOGGER, BENTOML_REQUEST_LOGGER, "bentoml.serve", "voc.service")
MAX_ARG_CHARS = 512
_STATUS = re.compile(r"\bstatus=(\d{3})\b")


def escape(text: str, limit: int = MAX_ARG_CHARS) -> str:
    """``text`` on one line, printable: control, format and separator characters (other than a space) as
    ``\\xNN``/``\\uNNNN`` escapes, a backslash doubled; over ``limit`` characters cut, saying how many more."""
    out = []
    for char in text[: limit + 1]:
        if char == "\\":
            out.append("\\\\")
        elif char != " " and unicodedata.category(char)[0] in "CZ":
            out.append(char.encode("unicode_escape").decode("ascii") if ord(char) < 0x10000 else f"\\U{ord(char):08x}")
        else:
            out.append(char)
    escaped = "".join(out)
    if len(text) > limit:
        escaped = f"{escaped[:limit]}... ({len(text) - limit:,} more characters)"
    return escaped


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


class SafeArgs(logging.Filter):
    """Escape and cap a record's string arguments (:func:`escape`); an access line of a 5xx gets WARNING (ERROR
    for a 500)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(escape(a) if isinstance(a, str) else a for a in record.args)
        if record.name == ACCESS_LOGGER and record.levelno < logging.WARNING:
            status = next((int(m.group(1)) for a in record.args or () if (m := _STATUS.search(str(a)))), 0)
            if status >= 500:
                record.levelno = logging.ERROR if status == 500 else logging.WARNING
                record.levelname = logging.getLevelName(record.levelno)
        return True


def install() -> None:
    """Attach the filters: client errors rewritten on BentoML's request-error logger, then every logger that
    carries a client's strings escaped (once each)."""
    logger = logging.getLogger(BENTOML_REQUEST_LOGGER)
    if not any(isinstance(f, ClientErrorFilter) for f in logger.filters):
        logger.addFilter(ClientErrorFilter())
    for name in CLIENT_STRING_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, SafeArgs) for f in logger.filters):
            logger.addFilter(SafeArgs())
