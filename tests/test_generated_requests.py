"""Generated requests (issue 14): schemathesis over a live daemon's own openapi.json, with a fixed seed.

A real `partnercrmd serve` process answers thousands of requests that schemathesis builds from the document the
daemon itself serves: valid ones and invalid ones (wrong types, too long, missing fields, odd characters), form and
JSON bodies, sent as a registered application. Every answer must be below 500 and match the document (status
codes, content type, response schemas). The seed is fixed, so a failure found once is found on every run.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.daemon_process import Daemon, run_cli
from tests.desktop_session import Desktop

EXAMPLES_PER_OPERATION = 160
"""Hypothesis examples per operation; the document's 17 operations make over 2,000 cases (enums make fewer)."""
MINIMUM_CASES = 2_000
SEED = 14
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]

sent: list[str] = []
"""The operation of every generated request sent, to count them."""


@pytest.fixture(scope="module")
def live_daemon(tmp_path_factory: pytest.TempPathFactory, desktop: Desktop) -> Iterator[tuple[Daemon, str]]:
    """A real daemon on a real X display (ScreenRead reads it), whose ShowWindow opens nothing (BROWSER=true)."""
    home = tmp_path_factory.mktemp("generated") / "home"
    home.mkdir()
    assert run_cli(home, "settings", "set", "registration_wait_s=1").returncode == 0
    daemon = Daemon(home, extra_env={"BROWSER": "true", "DISPLAY": desktop.display})
    daemon.start()
    try:
        yield daemon, daemon.register_trusted("Generated requests")
        server_errors = [line for line in daemon.log_text().splitlines() if "unexpected error" in line]
        assert not server_errors, server_errors[:5]
    finally:
        daemon.close()


@pytest.fixture
def live_schema(live_daemon: tuple[Daemon, str]) -> Any:
    daemon, _ = live_daemon
    schema = schemathesis.openapi.from_url(daemon.url("openapi.json"))
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=EXAMPLES_PER_OPERATION,
        deterministic=True,
    )
    schema.config.seed = SEED
    # A body over the size limit is refused before it is read: 413 is the rejection of such invalid data too.
    rejection = schema.config.checks.negative_data_rejection
    rejection.expected_statuses = [*rejection.expected_statuses, "413"]
    return schema


schema = schemathesis.pytest.from_fixture("live_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_generated_requests_get_no_server_error_and_match_the_document(
    case: Any, live_daemon: tuple[Daemon, str]
) -> None:
    _, app_id = live_daemon
    sent.append(case.operation.label)
    response = case.call(headers={"ApplicationId": app_id}, timeout=15)
    case.validate_response(response, checks=CHECKS)


def test_enough_generated_requests_were_sent(live_daemon: tuple[Daemon, str]) -> None:
    # runs after the generated test in this module (pytest keeps file order); alone it says what to run
    if not sent:
        pytest.fail("run this module whole: the generated test above sends the requests counted here")
    assert len(sent) >= MINIMUM_CASES, f"only {len(sent)} generated requests were sent"
    daemon, _ = live_daemon
    document = daemon.request("GET", "openapi.json").json()
    operations = {f"{method.upper()} {path}" for path, item in document["paths"].items() for method in item}
    assert operations - {"GET /api/v1/openapi.json"} <= set(sent), sorted(operations - set(sent))


def test_the_live_document_names_every_route(live_daemon: tuple[Daemon, str]) -> None:
    daemon, _ = live_daemon
    document = daemon.request("GET", "openapi.json").json()
    assert document["servers"] == [{"url": f"http://127.0.0.1:{daemon.port}"}]
