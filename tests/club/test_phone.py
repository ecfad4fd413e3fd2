"""Mainland mobile validation and masking."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from club.members.phone import InvalidPhone, PhoneProblem, mask_phone, validate_phone


@pytest.mark.parametrize(
    ("typed", "number"),
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("86-13812345678", "13812345678"),
        ("008613812345678", "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),
        ("  19912345678 ", "19912345678"),
    ],
)
def test_accepts_mobile_numbers_as_typed(typed: str, number: str) -> None:
    assert validate_phone(typed) == number


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("", PhoneProblem.EMPTY),
        ("  - ", PhoneProblem.EMPTY),
        ("1381234567", PhoneProblem.WRONG_LENGTH),
        ("138123456789", PhoneProblem.WRONG_LENGTH),
        ("12812345678", PhoneProblem.NOT_MOBILE),
        ("02112345678", PhoneProblem.NOT_MOBILE),
        ("+1 4155552671", PhoneProblem.NOT_MOBILE),
        ("138abcd5678", PhoneProblem.NOT_DIGITS),
        ("我的手机", PhoneProblem.NOT_DIGITS),
        ("١٣٨١٢٣٤٥٦٧٨", PhoneProblem.NOT_DIGITS),
    ],
)
def test_refuses_other_text_with_a_reason(typed: str, problem: PhoneProblem) -> None:
    with pytest.raises(InvalidPhone) as caught:
        validate_phone(typed)
    assert caught.value.problem is problem


def test_mask_shows_prefix_and_last_four() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone(None) == ""
    assert mask_phone("") == ""
    assert mask_phone("12345") == "****5"


mobiles = st.from_regex(r"\A1[3-9][0-9]{9}\Z")


@settings(max_examples=200)
@given(mobiles)
def test_mask_never_reveals_the_middle_and_keeps_the_length(number: str) -> None:
    masked = mask_phone(number)
    assert masked == number[:3] + "****" + number[7:]
    assert len(masked) == len(number)
    assert number[3:7] not in masked[3:7]
    assert validate_phone(f"+86 {number[:3]} {number[3:7]} {number[7:]}") == number


@settings(max_examples=200)
@given(st.text(max_size=20))
def test_validation_returns_a_mobile_or_refuses(text: str) -> None:
    try:
        number = validate_phone(text)
    except InvalidPhone:
        return
    assert len(number) == 11 and number.isdigit() and number[0] == "1"
