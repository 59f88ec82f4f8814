"""Identity rules in plain Python: emails, lockout, recovery codes, 2FA
preferences, PKCE, calendars."""

import datetime as dt

import pytest
from slate_auth import domain

T0 = dt.datetime(2026, 1, 1, 12, 0, 0)


def test_email_is_lower_cased_and_checked_with_zou_messages():
    assert domain.normalize_email("  Ada.Lovelace@Example.COM ") == "ada.lovelace@example.com"
    with pytest.raises(ValueError, match="must have an @-sign"):
        domain.normalize_email("not-an-email")
    with pytest.raises(ValueError, match="invalid characters before the @-sign: SPACE"):
        domain.normalize_email("ada love@example.com")


def test_fifth_failure_locks_for_the_window_then_counting_starts_over():
    failed = 0
    for _ in range(5):
        failed = domain.after_failure(failed, T0, T0, 5, 60)
    assert failed == 5
    assert domain.is_locked(failed, T0, T0 + dt.timedelta(seconds=59), 5, 60)
    assert not domain.is_locked(failed, T0, T0 + dt.timedelta(seconds=61), 5, 60)
    assert domain.after_failure(failed, T0, T0 + dt.timedelta(seconds=61), 5, 60) == 1


def test_recovery_codes_are_hashed_and_match_once_by_index():
    codes = domain.new_recovery_codes()
    assert len(codes) == 16 and all(len(c) == 10 and c.isalnum() and c.upper() == c for c in codes)
    hashes = domain.hash_recovery_codes(codes[:3])
    assert all(h.startswith(b"$2b$") and codes[0].encode() not in h for h in hashes)
    assert domain.match_recovery_code(codes[1], hashes) == 1
    assert domain.match_recovery_code(codes[1].lower(), hashes) == 1  # typed in lower case
    remaining = hashes[:1] + hashes[2:]
    assert domain.match_recovery_code(codes[1], remaining) is None
    assert domain.match_recovery_code("", hashes) is None


def test_disabling_the_preferred_method_falls_back_to_another_enabled_one():
    enabled = {"totp": False, "email_otp": True, "fido": True}
    assert domain.preferred_after_disable("totp", "totp", enabled) == "fido"
    assert domain.preferred_after_disable("email_otp", "totp", enabled) == "email_otp"
    assert domain.preferred_after_disable("totp", "totp", {"totp": False, "email_otp": False, "fido": False}) is None


def test_enabled_methods_list_starts_with_recovery_code():
    assert domain.enabled_methods(True, False, True) == ["recovery_code", "totp", "fido"]


def test_pkce_challenge_is_unpadded_base64url_sha256_of_the_verifier():
    import base64
    import hashlib

    verifier = "dBjftJeZ4CVP-mJ0kZ4wu9a2hiMS0ZXZwSkcb7uyYh8"
    expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    challenge = domain.pkce_challenge(verifier)
    assert challenge == expected and len(challenge) == 43 and "=" not in challenge
    assert domain.pkce_challenge(verifier + "x") != challenge


def test_reset_token_is_64_upper_alphanumerics():
    token = domain.new_reset_token()
    assert len(token) == 64 and token.isalnum() and token.upper() == token


def test_calendar_bounds():
    assert domain.month_bounds(2024, 2) == (dt.date(2024, 2, 1), dt.date(2024, 2, 29))
    assert domain.week_bounds(2024, 1) == (dt.date(2024, 1, 1), dt.date(2024, 1, 7))
    with pytest.raises(ValueError):
        domain.month_bounds(2024, 13)


def test_presence_rows_mark_login_days_of_that_month_only():
    rows = domain.presence_rows(
        2024, 2, [("a", "Ada L"), ("b", "Bob M")],
        {"a": [dt.datetime(2024, 2, 3, 9), dt.datetime(2024, 3, 3, 9)]},
    )
    assert rows[0][:3] == ["2024", "1", "2"] and len(rows[0]) == 30
    assert rows[1][0] == "Ada L" and rows[1][3] == "X" and rows[1].count("X") == 1
    assert rows[2].count("X") == 0
