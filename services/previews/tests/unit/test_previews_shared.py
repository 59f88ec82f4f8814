import pytest
from slate_previews import shared
from slatekit.errors import Invalid

SPEC = {"guest_id": ("uuid", True, None), "text": ("str", False, ""), "checklist": ("list", False, None),
        "other_id": ("uuid", False, None)}


def test_validation_lists_every_problem_in_zous_shape():
    with pytest.raises(Invalid) as exc:
        shared._validate({"text": 3, "checklist": "x"}, SPEC)
    assert exc.value.message == "Validation error."
    assert exc.value.extra == {"data": {"errors": [
        {"field": "guest_id", "message": "Field required"},
        {"field": "text", "message": "Input should be a valid string"},
        {"field": "checklist", "message": "Input should be a valid list"}]}}


def test_validation_normalises_ids_and_fills_defaults():
    gid = "8D395385E74B4BD98F2A5B5F1D1C6315"
    out = shared._validate({"guest_id": gid, "other_id": ""}, SPEC)
    assert out == {"guest_id": "8d395385-e74b-4bd9-8f2a-5b5f1d1c6315", "text": "", "checklist": None,
                   "other_id": None}
    with pytest.raises(Invalid):
        shared._validate({"guest_id": "nope"}, SPEC)
    assert shared._validate(None, {"first_name": ("str", False, "Guest")}) == {"first_name": "Guest"}


def test_invitation_addresses_are_checked_with_zous_message():
    assert shared._checked_email(" a@example.com ") == "a@example.com"
    with pytest.raises(Invalid) as exc:
        shared._checked_email("notanemail")
    assert exc.value.message == "An email address must have an @-sign." and exc.value.extra == {"bare": True}
    with pytest.raises(Invalid):
        shared._checked_email("a@b")


def test_attachment_names_lose_paths_and_markup():
    assert shared._file_name("C:\\x\\..\\<evil>.txt") == "evil.txt"
    assert shared._file_name(None) == "file"
    assert shared._mimetype("notes.txt") == "text/plain"


def test_share_passwords_are_salted_hashes_checked_in_constant_time():
    stored = shared.hash_password("s3cret")
    assert "s3cret" not in stored and stored != shared.hash_password("s3cret")
    assert shared.password_matches(stored, "s3cret")
    assert not shared.password_matches(stored, "S3cret") and not shared.password_matches(stored, None)
    assert shared.password_matches(None, None)  # an unprotected link
    assert not shared.password_matches("garbage", "s3cret")
