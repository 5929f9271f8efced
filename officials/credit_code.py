"""The unified social credit code (统一社会信用代码, GB 32100-2015): normalising and checksum."""

import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# 31 characters: the digits and the capitals without I, O, S, V and Z (they read like digits).
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {char: index for index, char in enumerate(ALPHABET)}
_WEIGHTS = [pow(3, i, 31) for i in range(17)]  # 3^(i-1) mod 31 for positions 1..17


def normalize(raw: str) -> str:
    """Full-width to half-width (NFKC), upper case, surrounding blanks dropped."""
    return unicodedata.normalize("NFKC", raw or "").strip().upper()


def check_character(first17: str) -> str:
    total = sum(_VALUE[char] * weight for char, weight in zip(first17, _WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def is_valid(code: str) -> bool:
    code = normalize(code)
    if len(code) != 18 or any(char not in _VALUE for char in code):
        return False
    return check_character(code[:17]) == code[17]


def validate_credit_code(value: str) -> None:
    code = normalize(value)
    if len(code) != 18:
        raise ValidationError(
            _("A unified social credit code has 18 characters; this one has %(n)d."),
            code="credit_code_length",
            params={"n": len(code)},
        )
    bad = sorted({char for char in code if char not in _VALUE})
    if bad:
        raise ValidationError(
            _("A unified social credit code cannot contain %(chars)s."),
            code="credit_code_chars",
            params={"chars": " ".join(bad)},
        )
    if check_character(code[:17]) != code[17]:
        raise ValidationError(
            _("This unified social credit code fails its check character; please check it."),
            code="credit_code_checksum",
        )
