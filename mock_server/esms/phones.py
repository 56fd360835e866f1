"""Phone numbers and recipient keys: one national form for every way a number can be written."""

from __future__ import annotations

import hashlib

# Telco by national prefix (first three digits), for the callback's `telcoid` and the network name.
_TELCOS: dict[str, tuple[int, str]] = {}
for _prefixes, _telco in (
    ("086 096 097 098 032 033 034 035 036 037 038 039", (1, "Viettel")),
    ("089 090 093 070 076 077 078 079", (2, "Mobifone")),
    ("088 091 094 081 082 083 084 085", (3, "Vinaphone")),
    ("092 056 058", (4, "Vietnamobile")),
    ("099 059", (5, "Gmobile")),
    ("087", (6, "Itel")),
    ("055", (7, "Reddi")),
):
    for _prefix in _prefixes.split():
        _TELCOS[_prefix] = _telco


def national(phone: str) -> str:
    """`84901888484`, `+84901888484` and `0901888484` all become `0901888484`."""
    digits = phone.strip()
    if digits.startswith("+"):
        digits = digits[1:]
    if digits.startswith("84") and len(digits) >= 11:
        return "0" + digits[2:]
    return digits


def international(phone: str) -> str:
    """The `84...` form, the one eSMS hashes for `hash_phone`."""
    return "84" + national(phone)[1:]


def hashed(phone: str) -> str:
    return hashlib.sha256(international(phone).encode()).hexdigest()


def recipient_key(recipient: str) -> str:
    """The key under which outcomes are looked up: phones in national form, anything else as given."""
    stripped = recipient.strip()
    digits = stripped.lstrip("+")
    if digits.isdigit() and len(digits) <= 12 and stripped.startswith(("0", "84", "+84")):
        return national(stripped)
    return stripped


def telco(phone: str) -> tuple[int, str]:
    """(telcoid, network name) of a Vietnamese number; Viettel when the prefix is unknown."""
    return _TELCOS.get(national(phone)[:3], (1, "Viettel"))
