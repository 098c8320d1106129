"""Language codes a sitting, a committee or a search filter may name (ISO 639, known to CLDR).

Kyrgyz (``ky``) is always a valid sitting or committee language, whether or not a model can
transcribe it: which codes a *transcription* may use is ``transcribe.languages``'s business.
"""

from __future__ import annotations

import re

from babel import localedata

from sanarip.errors import SanaripError

CODE_RE = re.compile(r"^[a-z]{2,3}$")


def is_language(code: str) -> bool:
    """True for a lower-case ISO 639 code that CLDR knows (ky, ru, en, kk …)."""
    return bool(CODE_RE.fullmatch(code)) and localedata.exists(code)


def check_language(code: str, what: str = "language") -> str:
    """``code`` if it names a language; else SanaripError in one line naming the form."""
    if not is_language(code):
        raise SanaripError(f"{what}: unknown language code {code!r}; expected an ISO 639 code such as ky, ru, en")
    return code
