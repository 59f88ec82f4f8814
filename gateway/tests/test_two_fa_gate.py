"""ENFORCE_2FA at the edge: a restricted session reaches only the setup routes."""

from __future__ import annotations

import uuid

import pytest
from slatekit.errors import Forbidden

from slate_gateway import tokens


@pytest.fixture
def restricted_sid():
    sid = uuid.uuid4().hex
    r = tokens.redis_client()
    r.set(f"slate:2fa-setup:{sid}", "1", ex=60)
    yield sid
    r.delete(f"slate:2fa-setup:{sid}")


def test_restricted_session_is_refused_outside_setup_routes(restricted_sid):
    claims = {"requires_2fa_setup": True, "sid": restricted_sid}
    with pytest.raises(Forbidden) as err:
        tokens.check_2fa_setup(claims, "/data/projects")
    assert err.value.extra == {"two_factor_authentication_required": True}


def test_restricted_session_may_set_up_its_second_factor(restricted_sid):
    claims = {"requires_2fa_setup": True, "sid": restricted_sid}
    for path in ("/auth/totp", "/auth/authenticated", "/auth/logout", "/auth/refresh-token"):
        tokens.check_2fa_setup(claims, path)


def test_session_no_longer_marked_is_not_restricted():
    claims = {"requires_2fa_setup": True, "sid": uuid.uuid4().hex}
    tokens.check_2fa_setup(claims, "/data/projects")


def test_ordinary_tokens_skip_the_check():
    tokens.check_2fa_setup({"sid": "x"}, "/data/projects")
