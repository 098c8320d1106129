"""Which languages a transcription may be asked for, checked before any model loads.

One function, ``check_transcription_language``, answers for every entry point (``sanarip
transcribe``, committee fallback languages, job payloads). Whisper has no Kyrgyz token, so
``ky`` needs a Kyrgyz backend: ``transcription_languages`` is where one adds its codes.
"""

from __future__ import annotations

from faster_whisper.tokenizer import _LANGUAGE_CODES as WHISPER_LANGUAGES

from sanarip.errors import SanaripError
from sanarip.languages import is_language

AUTO = "auto"
KYRGYZ = "ky"
KYRGYZ_HINT = ("no Kyrgyz transcription model is installed; use 'auto' (per-utterance detection, Kyrgyz "
               "chunks kept and marked unreliable), a related Whisper language such as kk, "
               "or a committee's --fallback-language")


def transcription_languages() -> tuple[str, ...]:
    """Codes the installed backends can transcribe (a Kyrgyz backend adds ``ky`` here)."""
    return tuple(WHISPER_LANGUAGES)


def check_transcription_language(code: str, what: str = "--language", allow_auto: bool = True) -> str:
    """``code`` if a transcription can use it; else SanaripError in one line naming the options."""
    if (allow_auto and code == AUTO) or code in transcription_languages():
        return code
    if code == KYRGYZ:
        raise SanaripError(f"{what} {code}: {KYRGYZ_HINT}")
    kind = "not a language Whisper transcribes" if is_language(code) else "unknown language code"
    options = ("auto, " if allow_auto else "") + ", ".join(sorted(transcription_languages()))
    raise SanaripError(f"{what} {code}: {kind}; use one of {options}")
