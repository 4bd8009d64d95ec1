"""Property-based run of every operation in the app's OpenAPI: no input may cause a 500.

Runs in-process over ASGI with a bounded number of examples per operation. The dispatcher
is off, so a generated request that creates a job never starts heavy work.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from wakebuilder.api.app import create_app
from wakebuilder.settings import load_settings

pytestmark = pytest.mark.slow

MAX_EXAMPLES = 25


def _operations(data_dir: Path) -> list[object]:
    # "testserver": the Host header of the in-process ASGI client (checked against DNS rebinding)
    app = create_app(load_settings(data_dir=data_dir, allowed_hosts=["testserver"]),
                     start_dispatcher=False)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


def _checker(operation: Any, calls: dict[str, int]) -> Callable[[], None]:
    label = operation.label

    @given(case=operation.as_strategy())
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case: schemathesis.Case) -> None:
        response = case.call()
        calls[label] = calls.get(label, 0) + 1
        assert response.status_code < 500, (label, response.status_code, response.text[:500])
        if response.status_code >= 400:
            assert set(response.json()) == {"error", "message", "details"}, label

    return check  # type: ignore[no-any-return]


def test_no_server_errors(tmp_path: Path) -> None:
    """Every operation, MAX_EXAMPLES generated requests each: no 5xx, errors well formed."""
    calls: dict[str, int] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        operations = _operations(tmp_path / "data")
        assert len(operations) >= 16
        for operation in operations:
            _checker(operation, calls)()
    assert len(calls) == len(operations)
