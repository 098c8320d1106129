"""What text may contain on the way in, and what each output format may carry on the way out.

Input: titles, names and transcript text refuse control characters (tab and newline are text);
they have no meaning in a stenogram and break the XML exports and terminals. Output: data stored
before that rule (or written by a worker) is made safe per format instead of refused.
"""

from __future__ import annotations

import re

from sanarip.errors import SanaripError

# C0 controls except tab and newline, DEL, the C1 controls, and lone surrogates (not Unicode text).
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
# What XML 1.0 allows: tab, newline, carriage return and the characters from U+0020 on, without
# surrogates and U+FFFE/U+FFFF.
XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# A spreadsheet evaluates a cell that starts with one of these as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class InvalidText(SanaripError, ValueError):
    """Text with characters that have no place in it (the message names the field)."""


def checked_text(value: str, field: str) -> str:
    """``value`` unchanged, or InvalidText if it holds a control character or a lone surrogate."""
    found = CONTROL.search(value)
    if found:
        raise InvalidText(f"'{field}' contains a control character (U+{ord(found.group()):04X}); remove it")
    return value


def xml_text(value: str) -> str:
    """``value`` without the characters XML 1.0 cannot carry (a well-formed export of any stored data)."""
    return XML_ILLEGAL.sub("", value)


def spreadsheet_cell(value: object) -> object:
    """A CSV cell that a spreadsheet shows as text: a leading formula character gets a quote before it."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value
