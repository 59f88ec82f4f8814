"""Pure rules of the events service: scoping rooms, the webhook URL guard,
signatures and backoff. The URL guard never opens a connection: non-loopback
addresses are only fed to the validator, with the resolver replaced."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress

import pytest
from slatekit.errors import Invalid

from slate_events import domain


def resolver(mapping):
    def resolve(host, port):
        return mapping[host]

    return resolve


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8080/", "http://[::1]/", "http://169.254.169.254/latest/meta-data", "http://10.0.0.1/",
    "http://192.168.1.10/", "http://172.16.0.5/", "http://0.0.0.0/", "http://[::ffff:127.0.0.1]/",
    "http://[fe80::1]/", "http://224.0.0.1/", "file:///etc/passwd", "gopher://example.com/", "ftp://example.com/",
    "http://user:pw@example.com/", "", None, "http:///nohost",
])
def test_unsafe_urls_are_refused(url):
    with pytest.raises(Invalid):
        domain.check_url(url, resolve=resolver({"example.com": ["93.184.216.34"]}))


def test_a_name_resolving_to_loopback_is_refused():
    with pytest.raises(Invalid):
        domain.check_url("https://rebind.example/", resolve=resolver({"rebind.example": ["93.184.216.34", "127.0.0.1"]}))


def test_public_names_pass_and_return_the_checked_addresses():
    url, addrs = domain.check_url("https://hooks.example/x", resolve=resolver({"hooks.example": ["93.184.216.34"]}))
    assert url == "https://hooks.example/x" and addrs == ["93.184.216.34"]


def test_operator_allowed_networks_let_loopback_through():
    nets = domain.parse_networks("127.0.0.0/8, ::1/128")
    assert domain.check_url("http://127.0.0.1:9/", nets)[1] == ["127.0.0.1"]
    with pytest.raises(Invalid):
        domain.check_url("http://10.0.0.1/", nets)


def test_signature_is_hmac_sha256_of_timestamp_dot_body():
    sig = domain.sign("s3cret", "1700000000", b'{"a":1}')
    assert sig == "sha256=" + hmac.new(b"s3cret", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()


def test_backoff_doubles_and_is_capped():
    assert [domain.backoff_seconds(a, 5) for a in (1, 2, 3)] == [5, 10, 20]
    assert domain.backoff_seconds(30, 5) == 3600


def test_rooms_keep_projects_apart_and_personal_events_personal():
    a, b = "a" * 8, "b" * 8
    assert domain.rooms_for({"name": "asset:new", "project_id": a}) == [f"project:{a}", "all-projects"]
    assert domain.rooms_for({"name": "person:new", "project_id": None, "data": {}}) == ["global"]
    assert domain.rooms_for({"name": "notification:new", "project_id": a, "data": {"person_id": "p"}}) == ["person:p"]
    member = domain.rooms_of("user", "p", [a])
    assert f"project:{b}" not in member and "all-projects" not in member and f"project:{a}" in member
    assert "all-projects" in domain.rooms_of("admin", "q", [])


def test_webhook_name_patterns():
    assert domain.webhook_matches(["task:*"], "task:assign")
    assert domain.webhook_matches(["*"], "x:y")
    assert not domain.webhook_matches(["comment:new"], "comment:reply")


def test_persistence_follows_zou():
    assert not domain.persisted("main:test") and not domain.persisted("preview-room:join")
    assert domain.persisted("comment:new")
    assert ipaddress.ip_address("93.184.216.34").is_global
