from __future__ import annotations

from gateway.api.auth import find_staff, token_matches
from gateway.api.masking import mask_email, mask_phone
from gateway.settings import StaffToken


def test_token_matches_any_configured_token() -> None:
    assert token_matches("new", ["old", "new"])
    assert not token_matches("ne", ["old", "new"])
    assert not token_matches("", ["old"])
    assert not token_matches("anything", [])


def test_find_staff_returns_the_member() -> None:
    staff = [StaffToken("ann", "viewer", "tok-ann-1"), StaffToken("bo", "operator", "tok-bo-12")]
    member = find_staff("tok-bo-12", staff)
    assert member is not None
    assert member.name == "bo"
    assert find_staff("tok-bo-1", staff) is None
    assert find_staff(None, staff) is None


def test_masking() -> None:
    assert mask_phone("01012345678") == "010-****-5678"
    assert mask_email("jane@example.com") == "j***@example.com"
    assert mask_phone(None) is None
