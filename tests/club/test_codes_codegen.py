"""Code generation and the check character (pure)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from club.codes.codegen import (
    ALPHABET,
    BOTTLE_CODE_LENGTH,
    CodeShape,
    check_character,
    classify,
    format_code,
    is_valid,
    normalise,
    random_code,
)

bodies = st.text(alphabet=ALPHABET, min_size=1, max_size=16)


def test_alphabet_has_no_look_alikes() -> None:
    assert len(set(ALPHABET)) == len(ALPHABET) == 31
    assert not set(ALPHABET) & set("01OIL")


def test_random_codes_are_valid_and_distinct() -> None:
    codes = {random_code() for _ in range(2000)}
    assert len(codes) == 2000
    assert all(len(c) == BOTTLE_CODE_LENGTH and is_valid(c) for c in codes)


@settings(max_examples=300)
@given(bodies, st.data())
def test_every_single_character_typo_is_detected(body: str, data: st.DataObject) -> None:
    code = body + check_character(body)
    assert is_valid(code)
    position = data.draw(st.integers(0, len(code) - 1))
    wrong = data.draw(st.sampled_from([s for s in ALPHABET if s != code[position]]))
    assert not is_valid(code[:position] + wrong + code[position + 1 :])


@settings(max_examples=300)
@given(bodies.filter(lambda b: len(set(b + check_character(b))) > 1), st.data())
def test_every_adjacent_transposition_is_detected(body: str, data: st.DataObject) -> None:
    code = body + check_character(body)
    swaps = [i for i in range(len(code) - 1) if code[i] != code[i + 1]]
    if not swaps:
        return
    i = data.draw(st.sampled_from(swaps))
    swapped = code[:i] + code[i + 1] + code[i] + code[i + 2 :]
    assert not is_valid(swapped)


def test_exhaustively_every_typo_and_swap_on_sample_codes() -> None:
    for _ in range(20):
        code = random_code()
        for i in range(len(code)):
            for s in ALPHABET:
                if s != code[i]:
                    assert not is_valid(code[:i] + s + code[i + 1 :])
            if i + 1 < len(code) and code[i] != code[i + 1]:
                assert not is_valid(code[:i] + code[i + 1] + code[i] + code[i + 2 :])


def test_check_character_refuses_symbols_outside_the_alphabet() -> None:
    with pytest.raises(ValueError, match="alphabet"):
        check_character("ABC0")
    assert not is_valid("")
    assert not is_valid("ABC0")


def test_normalise_and_format() -> None:
    code = random_code()
    printed = format_code(code)
    assert printed.count("-") == 2 and printed.replace("-", "") == code
    assert normalise(f"  {printed.lower()} ") == code
    assert normalise(printed.replace("-", " ")) == code
    assert normalise("ａｂｃ－ｄｅｆ") == "ABCDEF"


def test_classify_tells_codes_typos_and_other_text_apart() -> None:
    code = random_code()
    assert classify(format_code(code).lower()) == (CodeShape.VALID, code)
    typo = code[:-1] + next(s for s in ALPHABET if s != code[-1])
    assert classify(typo)[0] is CodeShape.MISTYPED
    assert classify("O" + code[1:])[0] is CodeShape.MISTYPED
    assert classify("积分")[0] is CodeShape.NOT_A_CODE
    assert classify("points")[0] is CodeShape.NOT_A_CODE
    assert classify(code + "2")[0] is CodeShape.NOT_A_CODE
