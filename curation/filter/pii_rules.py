"""Validators behind the ``pii`` stage: checksums, calendar and address ranges that turn regex candidates into PII.

Pure functions on strings of ASCII digits, no state, so they are cheap to test one by one and to reuse
(e.g. by a report that counts PII without masking it). The regexes that find candidates live in ``pii.py``.
"""

from __future__ import annotations

import datetime
import ipaddress

# GB 11643-1999: weights 2^(17-i) mod 11 for the first 17 digits; the check character indexed by sum mod 11.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

# First two digits of a resident ID = province-level division (GB/T 2260): 11-15 north, 21-23 north-east,
# 31-37 east, 41-46 south-central, 50-54 south-west, 61-65 north-west, 71 Taiwan, 81/82 Hong Kong/Macau,
# 83 Taiwan residents on the mainland (2018 residence permits). 34 of 90 two-digit prefixes: rejects ~62% of
# random digit runs before the date and check-digit tests.
_ID_PROVINCES = frozenset(
    [11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54]
    + [61, 62, 63, 64, 65, 71, 81, 82, 83]
)


def id_check_char(first17: str) -> str:
    """The GB 11643 / ISO 7064 MOD 11-2 check character ('0'-'9' or 'X') of the first 17 digits of an ID."""
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS)) % 11]


def is_valid_id_number(s: str, max_birth_year: int) -> bool:
    """An 18-character resident ID: known province, real birth date in 1900..max_birth_year, right check char."""
    if len(s) != 18 or not s[:17].isascii() or not s[:17].isdigit():
        return False
    if int(s[:2]) not in _ID_PROVINCES:
        return False
    year, month, day = int(s[6:10]), int(s[10:12]), int(s[12:14])
    if not 1900 <= year <= max_birth_year:
        return False
    try:
        datetime.date(year, month, day)  # rejects 19990231, month 13, day 00
    except ValueError:
        return False
    return id_check_char(s[:17]) == s[17].upper()


def luhn_ok(digits: str) -> bool:
    """The Luhn (mod 10) check used by every payment card number (ISO/IEC 7812)."""
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = ord(c) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def card_network_lengths(digits: str) -> range | tuple[int, ...] | None:
    """Allowed lengths for the card network the number's issuer prefix (IIN) belongs to; None = no known network.

    Networks used in China: UnionPay 62 and 8100-8171 (16-19), Visa 4 (16 or 19; 13-digit Visas are no longer
    issued), Mastercard 51-55 and 2221-2720 (16), Amex 34/37 (15), JCB 35 (16-19), Diners 30/36/38 (14-19),
    Discover and domestic debit 60/64/65 (16-19, e.g. BOC 6013), the legacy 19-digit debit ranges of ICBC (9558)
    and ABC (95599). Order numbers, tracking numbers and timestamps start with 1, 20xx or 4008 and mostly fall
    outside; the lengths drop what the prefix lets through (400 hotlines + extension, 18-digit IDs starting 4).
    """
    p2, p4 = int(digits[:2]), int(digits[:4])
    if digits[0] == "4":
        return (16, 19)
    if 51 <= p2 <= 55 or 2221 <= p4 <= 2720:
        return (16,)
    if p2 in (34, 37):
        return (15,)
    if p2 in (35, 60, 62, 64, 65) or 8100 <= p4 <= 8171:
        return range(16, 20)
    if p2 in (30, 36, 38):
        return range(14, 20)
    if digits.startswith(("9558", "95599")):
        return (19,)
    return None


def is_valid_card(digits: str, require_iin: bool) -> bool:
    """13..19 digits, Luhn-valid, not one repeated digit, and (if required) a known network prefix and length."""
    if not 13 <= len(digits) <= 19 or len(set(digits)) == 1:
        return False
    if require_iin:
        lengths = card_network_lengths(digits)
        if lengths is None or len(digits) not in lengths:
            return False
    return luhn_ok(digits)


# Addresses that identify no person: RFC 6890 special-purpose blocks, spelled out (instead of ipaddress.is_global)
# so the result does not change with the Python version (3.11.x and 3.12.x disagree on a few blocks).
_V4_NON_PUBLIC = [
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8",  # "this network"
        "10.0.0.0/8",  # private
        "100.64.0.0/10",  # carrier-grade NAT
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local
        "172.16.0.0/12",  # private
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation (TEST-NET-1)
        "192.168.0.0/16",  # private
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation (TEST-NET-2)
        "203.0.113.0/24",  # documentation (TEST-NET-3)
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, includes broadcast 255.255.255.255
    )
]
_V4_RANGES = [(int(n.network_address), int(n.broadcast_address)) for n in _V4_NON_PUBLIC]


def is_public_ipv4(octets: tuple[int, int, int, int]) -> bool:
    """Whether a.b.c.d is outside every private, loopback, link-local, documentation, multicast, reserved block."""
    a, b, c, d = octets
    value = (a << 24) | (b << 16) | (c << 8) | d
    return not any(lo <= value <= hi for lo, hi in _V4_RANGES)


_V6_GLOBAL = ipaddress.IPv6Network("2000::/3")  # global unicast: every routable IPv6 address today
_V6_DOC = ipaddress.IPv6Network("2001:db8::/32")  # documentation prefix
_V6_PRIVATE = (ipaddress.IPv6Network("fc00::/7"), ipaddress.IPv6Network("fe80::/10"))  # unique-local, link-local


def ipv6_kind(s: str) -> str | None:
    """``public`` / ``private`` for a real IPv6 address, ``None`` for anything else (invalid, loopback, ``::``)."""
    try:
        addr = ipaddress.IPv6Address(s)
    except ValueError:
        return None
    if addr in _V6_GLOBAL and addr not in _V6_DOC:
        return "public"
    if addr in _V6_DOC or any(addr in n for n in _V6_PRIVATE):
        return "private"
    return None
