"""Keep secrets out of logs: ``token=...`` (and ``api_key=``) in any log line is redacted.

The filter goes on uvicorn's loggers and on every handler of them and of the root logger, so
records of the app's own loggers (which propagate to those handlers) are covered too. It
rewrites the message and its string arguments in place, keeping the argument tuple that
uvicorn's access formatter unpacks.
"""

from __future__ import annotations

import logging
import re
from typing import Any

SECRET_PARAM = re.compile(r"((?:^|[?&;\s\"'(])(?:token|api_key|access_token)=)[^&\s\"';)]*",
                          re.IGNORECASE)
REDACTED = "[redacted]"
LOGGERS = ("uvicorn", "uvicorn.access", "uvicorn.error", "wakebuilder")


def redact(text: str) -> str:
    """``text`` with every ``token=<value>`` query parameter replaced by ``token=[redacted]``."""
    return SECRET_PARAM.sub(lambda m: m.group(1) + REDACTED, text)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, bytes):
        return redact(value.decode("latin-1"))
    return value


class RedactSecrets(logging.Filter):
    """A filter that redacts ``token=`` values from a record's message and arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_clean(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _clean(v) for k, v in record.args.items()}
        return True


def install_redaction() -> None:
    """Put one :class:`RedactSecrets` on the known loggers and all their handlers (idempotent)."""
    targets: list[logging.Filterer] = []
    for name in (*LOGGERS, ""):
        logger = logging.getLogger(name)
        targets.append(logger)
        targets.extend(logger.handlers)
    if logging.lastResort is not None:  # prints warnings when no handler is configured
        targets.append(logging.lastResort)
    for target in targets:
        if not any(isinstance(f, RedactSecrets) for f in target.filters):
            target.addFilter(RedactSecrets())
