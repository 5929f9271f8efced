"""The unified social credit code (GB 32100-2015): normalising, checksum and the error messages."""

import pytest
from django.core.exceptions import ValidationError

from officials.credit_code import (
    ALPHABET,
    check_character,
    is_valid,
    normalize,
    validate_credit_code,
)
from tests.factories import credit_code

VALID = ["91350100M000100Y43", "91110108551385082Q"]


@pytest.mark.parametrize("code", VALID)
def test_real_codes_are_valid(code):
    assert is_valid(code)
    validate_credit_code(code)  # does not raise
    assert check_character(code[:17]) == code[17]


@pytest.mark.parametrize(
    "code, replacement", [(code, char) for code in VALID for char in ALPHABET if char != code[17]]
)
def test_any_other_check_character_is_invalid(code, replacement):
    tampered = code[:17] + replacement
    assert not is_valid(tampered)
    with pytest.raises(ValidationError) as error:
        validate_credit_code(tampered)
    assert error.value.code == "credit_code_checksum"


@pytest.mark.parametrize("position", range(17))
def test_changing_any_body_character_breaks_the_checksum(position):
    code = VALID[1]
    replacement = "1" if code[position] != "1" else "2"
    assert not is_valid(code[:position] + replacement + code[position + 1 :])


@pytest.mark.parametrize(
    "raw, normal",
    [
        ("91350100m000100y43", "91350100M000100Y43"),  # lower case
        ("９１３５０１００Ｍ０００１００Ｙ４３", "91350100M000100Y43"),  # full-width (IME input)
        ("９１１１０１０８５５１３８５０８２ｑ", "91110108551385082Q"),  # full-width lower case
        ("  91110108551385082Q\n", "91110108551385082Q"),  # pasted with blanks
        ("\u300091110108551385082Q\u3000", "91110108551385082Q"),  # ideographic spaces
    ],
)
def test_input_is_normalised(raw, normal):
    assert normalize(raw) == normal
    assert is_valid(raw)
    validate_credit_code(raw)


def test_normalize_tolerates_none():
    assert normalize(None) == ""


@pytest.mark.parametrize("letter", ["I", "O", "S", "V", "Z"])
def test_letters_that_read_like_digits_are_rejected(letter):
    code = VALID[0][:10] + letter + VALID[0][11:]
    assert not is_valid(code)
    with pytest.raises(ValidationError) as error:
        validate_credit_code(code)
    assert error.value.code == "credit_code_chars"
    assert letter in error.value.messages[0]


@pytest.mark.parametrize("bad", ["-", "#", "中", "é", " "])
def test_other_characters_are_rejected(bad):
    code = VALID[0][:5] + bad + VALID[0][6:]
    assert not is_valid(code)
    with pytest.raises(ValidationError):
        validate_credit_code(code)


@pytest.mark.parametrize(
    "code, length",
    [
        ("", 0),
        ("9", 1),
        (VALID[0][:17], 17),
        (VALID[0] + "0", 19),
        (VALID[0] * 2, 36),
    ],
)
def test_wrong_lengths_are_rejected_with_the_length(code, length):
    assert not is_valid(code)
    with pytest.raises(ValidationError) as error:
        validate_credit_code(code)
    assert error.value.code == "credit_code_length"
    assert error.value.params == {"n": length}


@pytest.mark.parametrize("n", [0, 1, 42, 999_999_999])
def test_generated_codes_are_valid(n):
    """The factories' codes pass the same validation as a real one."""
    code = credit_code(n)
    assert len(code) == 18
    assert is_valid(code)


def test_the_alphabet_has_31_characters_without_i_o_s_v_z():
    assert len(ALPHABET) == 31
    assert not set("IOSVZ") & set(ALPHABET)
