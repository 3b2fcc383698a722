"""The log-in throttle over real HTTP (backend/services/login_throttle.py): failures counted per account and
address, per address and per account; X-Forwarded-For believed only from a configured proxy; a per-account lock
that a client which logged in to the account before passes; guesses sent at once counted before any is checked.

Each policy test runs on an embedded server (counts in process) and on two API processes sharing Redis, with
requests alternating between them, both behind a trusted proxy at 127.0.0.1 (the test plays the proxy).
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from security.accounts import PASSWORD, new_user
from security.conftest import BEHIND_PROXY, start_hardened
from support.stack import Stack, running

pytestmark = pytest.mark.timeout(300)

WRONG = "not the password"


class Front:
    """The proxy the tests play: sends each log-in to the next API process with the client's address."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self._next = itertools.cycle(list(stack.api) or [stack.base_url])

    def login(self, email: str, password: str, client: str, browser: httpx.Client | None = None) -> httpx.Response:
        """POST /api/auth/login as `client` (its X-Forwarded-For), keeping cookies in `browser` if given."""
        base = next(self._next)
        body = {"email": email, "password": password}
        headers = {"X-Forwarded-For": client}
        if browser is not None:
            return browser.post(f"{base}/api/auth/login", json=body, headers=headers)
        return httpx.post(f"{base}/api/auth/login", json=body, headers=headers, timeout=30)


@pytest.fixture(scope="module", params=["embedded", "redis-two-apis"])
def front(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Front]:
    if request.param == "redis-two-apis":
        yield Front(request.getfixturevalue("two_apis"))
        return
    overrides = {f"TOOLPRESS_{k.upper()}": v for k, v in BEHIND_PROXY.items()}
    with running(start_hardened(tmp_path_factory.mktemp("throttle"), **overrides)) as stack:
        yield Front(stack)


def _account(front: Front) -> str:
    with httpx.Client(base_url=front.stack.base_url, timeout=30) as api:
        return new_user(api).email


def _address() -> str:
    """A fresh client address (in the IPv6 documentation prefix), so tests never share one."""
    part = uuid.uuid4().hex
    return f"2001:db8::{part[:4]}:{part[4:8]}:{part[8:12]}"


def test_a_client_cannot_dodge_the_limit_with_its_own_forwarded_header(api: httpx.Client) -> None:
    """The default server trusts no proxy: a rotating X-Forwarded-For from the client changes nothing."""
    email = new_user(api).email
    for n in range(5):
        wrong = api.post("/api/auth/login", json={"email": email, "password": WRONG},
                         headers={"X-Forwarded-For": f"203.0.113.{n + 1}"})
        assert wrong.status_code == 401
    refused = api.post("/api/auth/login", json={"email": email, "password": PASSWORD},
                       headers={"X-Forwarded-For": "203.0.113.77"})
    assert refused.status_code == 429 and "from your address" in refused.json()["detail"]


def test_a_trusted_proxys_forwarded_address_is_the_one_counted(front: Front) -> None:
    email, bystander = _account(front), _account(front)
    guesser, neighbour = _address(), _address()
    assert [front.login(email, WRONG, guesser).status_code for _ in range(5)] == [401] * 5
    refused = front.login(email, PASSWORD, guesser)
    assert refused.status_code == 429 and "for this account from your address" in refused.json()["detail"]
    # another client behind the same proxy is not the guesser: five bad guesses lock out nobody else
    assert front.login(bystander, PASSWORD, neighbour).status_code == 200
    assert front.login(bystander, PASSWORD, guesser).status_code == 200


def test_one_address_cannot_spray_many_accounts(front: Front) -> None:
    sprayer, other = _address(), _address()
    victims = [_account(front) for _ in range(9)]
    assert [front.login(victim, WRONG, sprayer).status_code for victim in victims[:8]] == [401] * 8
    refused = front.login(victims[8], PASSWORD, sprayer)  # even the right password: the address is locked
    assert refused.status_code == 429 and "from your address" in refused.json()["detail"]
    assert 0 < int(refused.headers["retry-after"]) <= 900
    assert front.login(victims[8], PASSWORD, other).status_code == 200


def test_many_addresses_are_slowed_down_on_one_account_but_its_known_client_is_not(front: Front) -> None:
    email, other = _account(front), _account(front)
    owner, stranger = httpx.Client(timeout=30), httpx.Client(timeout=30)
    assert front.login(email, PASSWORD, _address(), owner).status_code == 200  # the owner's browser is now known
    assert front.login(other, PASSWORD, _address(), stranger).status_code == 200  # known to another account only
    botnet = [_address() for _ in range(6)]
    assert [front.login(email, WRONG, bot).status_code for bot in botnet[:5]] == [401] * 5
    held = front.login(email, WRONG, botnet[5])
    assert held.status_code == 429 and held.json()["detail"].startswith("too many failed log-ins for this account;")
    assert 0 < int(held.headers["retry-after"]) <= 15
    assert front.login(email, PASSWORD, _address()).status_code == 429  # an unknown client waits, right or wrong
    assert front.login(email, PASSWORD, _address(), stranger).status_code == 429
    with httpx.Client(timeout=30, cookies={"toolpress_known": "forged.value.sig"}) as forger:
        assert front.login(email, PASSWORD, _address(), forger).status_code == 429
    assert front.login(email, PASSWORD, _address(), owner).status_code == 200  # the owner gets in at once
    owner.close()
    stranger.close()


def test_guesses_sent_at_once_are_counted_before_any_is_checked(front: Front) -> None:
    email, guesser = _account(front), _address()
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(lambda _n: front.login(email, WRONG, guesser).status_code, range(12)))
    assert answers.count(401) <= 5 and answers.count(429) >= 7, answers
