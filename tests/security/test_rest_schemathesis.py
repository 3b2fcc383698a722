"""The REST API under schemathesis, from the OpenAPI document the running server publishes.

Every operation gets generated valid and invalid requests, authenticated as a test user whose
account owns a published app, a secret and a run (so ids and names in the schema's examples
sometimes hit real rows). Checks: no 5xx, and status codes, content types, headers and bodies
as the schema documents them.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from security.accounts import PASSWORD, User, fixture_yaml, new_user, publish
from support.stack import Stack

pytestmark = pytest.mark.timeout(900)

EXAMPLES = 30
# Schema-valid requests these operations may still refuse: any JSON object fits an app spec's schema but only
# real specs are accepted, and e-mail validation refuses special-use domains (x@y.test) that JSON Schema allows.
STRICTER_THAN_SCHEMA = {"POST /api/apps", "PATCH /api/apps/{app_id}", "POST /api/auth/signup"}


@pytest.fixture(scope="module")
def rest_user(api: httpx.Client) -> User:
    """A user with a published, enabled app and a secret."""
    user = new_user(api)
    publish(api, user, fixture_yaml("three_steps.yaml"))
    assert api.put("/api/secrets/FUZZ_KEY", json={"value": "fuzz-secret-value"}, headers=user.headers).status_code == 200
    return user


@pytest.fixture(scope="module")
def rest_schema(secure_stack: Stack) -> Any:
    """The server's own OpenAPI document."""
    return schemathesis.openapi.from_url(f"{secure_stack.base_url}/openapi.json")


def _fresh(user: User, base_url: str) -> User:
    """The same account with a new API token."""
    login = httpx.post(f"{base_url}/api/auth/login", json={"email": user.email, "password": PASSWORD}, timeout=30)
    assert login.status_code == 200, login.text
    return User(email=user.email, token=login.json()["access_token"])


def _check_operation(operation: Any, mode: GenerationMode, user: User, base_url: str) -> str | None:
    """Run generated cases of one operation; the first failure's description, or None."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(base_url=base_url, headers=user.headers, excluded_checks=excluded)

    excluded = [schemathesis.checks.positive_data_acceptance] if operation.label in STRICTER_THAN_SCHEMA else []
    # FastAPI ignores unknown query parameters and the test always sends the token, so a "negative" case that
    # only adds a query parameter or drops the Authorization header is answered normally (and still checked).
    excluded += [schemathesis.checks.negative_data_rejection]

    try:
        run()
    except Unsatisfiable:  # negative mode: an operation without parameters or body has nothing to break
        return None
    except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collected and reported per operation below
        return f"{operation.label} ({mode.value}): {exc}"
    return None


# pytest 9 cannot collect schemathesis' lazy (fixture-loaded) schemas, so the operations are walked here.
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_rest_api_matches_its_openapi_document(rest_schema: Any, rest_user: User, secure_stack: Stack,
                                                   mode: GenerationMode) -> None:
    operations = [result.ok() for result in rest_schema.get_all_operations()]
    assert any(op.label == "POST /api/apps" for op in operations)
    # each operation gets a token of its own: log-outs and token revocations must not blind the ones after them
    failures = [f for op in operations
                if (f := _check_operation(op, mode, _fresh(rest_user, secure_stack.base_url), secure_stack.base_url))]
    tracebacks = secure_stack.logs().split("Traceback (most recent call last):")[1:]
    assert failures == [], "\n\n".join([*failures, "server tracebacks:", *[t[:2500] for t in tracebacks[:3]]])
