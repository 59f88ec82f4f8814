"""gazu 1.3.1 against the running suite, at the bare root and under /api."""

from __future__ import annotations

import uuid

import gazu
import pytest
import requests

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("suffix", ["/api", ""])
def test_gazu_login_people_and_logout_revokes_tokens(suite, suffix):
    host = suite.url + suffix
    client = gazu.client.create_client(host)
    gazu.log_in(ADMIN_EMAIL, ADMIN_PASSWORD, client=client)
    assert gazu.client.get_current_user(client=client)["email"] == ADMIN_EMAIL

    email = f"artist-{uuid.uuid4().hex[:8]}@example.com"
    person = gazu.person.new_person("Ada", "Lovelace", email, client=client)
    assert person["full_name"] == "Ada Lovelace"
    assert person["role"] == "user"
    assert "password" not in person

    assert email in {p.get("email") for p in gazu.person.all_persons(client=client)}
    assert gazu.person.get_person_by_email(email, client=client)["id"] == person["id"]

    tokens = dict(client.tokens)
    gazu.log_out(client=client)
    r = requests.get(host + "/auth/authenticated", headers={"Authorization": "Bearer " + tokens["access_token"]})
    assert r.status_code == 401
    r = requests.get(host + "/auth/refresh-token", headers={"Authorization": "Bearer " + tokens["refresh_token"]})
    assert r.status_code == 401
