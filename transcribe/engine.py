"""The final pass: VAD, per-chunk language decision, faster-whisper, hallucination guards.

Audio is planned into *spans* (at most ``SPAN_SECONDS`` long, cut in silences) that are
transcribed independently, so a killed job restarts from its last finished span. Each span is
read from disk when its turn comes (``transcribe.audio``) and transcribed by faster-whisper's
``BatchedInferencePipeline``: its speech chunks (VAD, at most 30 s) are decoded in batches,
about twice as fast as the sequential ``WhisperModel.transcribe`` on a CPU. With a fixed
language a short recording is one span and the call is exactly bare batched faster-whisper's.
Whisper's lines are then cut into sentences (``sentences``), bounded in length.

With ``language="auto"`` the language is decided per speech chunk (each utterance between
pauses, at most 30 s), not once per recording: consecutive chunks of one language form a span
transcribed with that language, so a Russian passage between two English ones is kept.

Kyrgyz has no Whisper language token. A chunk detected with low confidence, or as a language
the sitting is not expected to use (default: Russian and English), is marked ``unreliable``.
It is transcribed with the committee's fallback language when the operator set one. Else a
Turkic detection (Kazakh, Tatar, Bashkir, Uzbek, Turkish …: what Whisper hears in Kyrgyz
speech) is kept as a stand-in for Kyrgyz (Kazakh is written in a Cyrillic close to Kyrgyz),
and any other unexpected language is replaced by the most probable expected one (a Russian
speaker with an accent is often heard as Polish or German).

Kyrgyz routing (``Options.kyrgyz``: the committee expects Kyrgyz, the default): a chunk heard
as a Turkic stand-in or with low confidence is decided as ``ky``. A ``ky`` span goes to the
Kyrgyz CTC model when one is configured (``Options.ctc``, ``transcribe.ctc``), through the same
guards and sentence cutting as Whisper's output; without one each of its speech chunks becomes
a segment with empty text and ``needs_transcription`` (the clerks' Kyrgyz queue).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from sanarip.stenogram import Segment, Word
from transcribe.audio import SAMPLE_RATE, ArrayAudio, Audio, as_audio, blocks
from transcribe.sentences import join_fragments, split_sentences

log = logging.getLogger(__name__)

VAD_BLOCK_SECONDS = 120.0  # VAD reads the recording in blocks of this length (its memory grows with it)
CUT_WINDOW_SECONDS = 60.0  # a long recording with a fixed language is cut in a pause this close to the limit
KYRGYZ = "ky"
KYRGYZ_STAND_INS = frozenset({"kk", "tt", "ba", "uz", "tr", "az", "tk", "mn"})
SPAN_SECONDS = 600.0
LOW_CONFIDENCE = 0.5
MIN_DETECT_SECONDS = 1.5
QUICK_DETECT_FRAMES = 1000  # the first, shorter hearing of a chunk (10 s)
QUICK_CONFIDENCE = 0.8  # a shorter hearing this sure is taken as it is
HALLUCINATIONS = re.compile(
    r"^(продолжение следует|субтитры (сделал|создавал|подогнал).*|редактор субтитров.*|"
    r"спасибо за просмотр|thank you for watching|thanks for watching|please subscribe.*|"
    r"подписывайтесь на канал.*|\.+|…)$",
    re.IGNORECASE,
)


@dataclass
class Options:
    """What a transcription run may vary; everything else is faster-whisper's defaults."""

    language: str = "auto"  # "auto" or a Whisper language code
    fallback_language: str | None = None  # used for unreliable chunks when set
    beam_size: int = 5
    vad: bool = True
    word_timestamps: bool = True
    span_seconds: float = SPAN_SECONDS  # resumable unit of work
    expected_languages: tuple[str, ...] = ("ru", "en")  # others are marked unreliable
    batch_size: int = 8  # speech chunks decoded together (see transcribe.models.batch_size)
    kyrgyz: bool = False  # route Turkic stand-ins and low-confidence chunks to "ky"
    ctc: dict[str, Any] = field(default_factory=dict)  # language → a loaded transcribe.ctc.CtcModel

    def whisper_kwargs(self, language: str | None) -> dict[str, Any]:
        """The decoding options, as keyword arguments of the sequential ``WhisperModel.transcribe``
        (the tests' and benches' baseline)."""
        return {"language": language, "beam_size": self.beam_size, "vad_filter": self.vad,
                "word_timestamps": self.word_timestamps}

    def batched_kwargs(self, language: str | None) -> dict[str, Any]:
        """Exactly the keyword arguments given to ``BatchedInferencePipeline.transcribe``."""
        return {**self.whisper_kwargs(language), "batch_size": self.batch_size}


@dataclass
class Span:
    start: float
    end: float
    language: str | None
    language_prob: float | None = None
    unreliable: bool = False


def decode(source: str) -> np.ndarray:
    """Any media file PyAV can read, as 16 kHz mono float32."""
    from faster_whisper import decode_audio

    return decode_audio(source, sampling_rate=SAMPLE_RATE)


def speech_chunks(audio: Audio | np.ndarray, min_silence_ms: int = 500,
                  max_seconds: float = 30.0) -> list[tuple[float, float]]:
    """Speech regions (seconds) from the Silero VAD bundled with faster-whisper, read in blocks."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    opts = VadOptions(min_silence_duration_ms=min_silence_ms, max_speech_duration_s=max_seconds, speech_pad_ms=200)
    chunks: list[tuple[float, float]] = []
    for offset, samples in blocks(as_audio(audio), VAD_BLOCK_SECONDS):
        for c in get_speech_timestamps(samples, opts):
            start, end = offset + c["start"] / SAMPLE_RATE, offset + c["end"] / SAMPLE_RATE
            if chunks and start - chunks[-1][1] < 0.01 and end - chunks[-1][0] <= max_seconds:
                start = chunks.pop()[0]  # speech running across a block boundary
            chunks.append((start, end))
    return chunks


def _long_spans(audio: Audio, limit: float, window: float = CUT_WINDOW_SECONDS) -> list[tuple[float, float]]:
    """Split a recording into spans of at most ``limit`` seconds, each cut in the longest pause of
    the ``window`` seconds before the limit. VAD reads only those windows, not the whole recording
    (the batched pipeline runs its own VAD on each span)."""
    spans, start = [], 0.0
    while audio.duration - start > limit:
        w_start = start + limit - min(window, limit / 2)
        w_len = start + limit - w_start
        chunks = speech_chunks(ArrayAudio(audio.read(w_start, start + limit)))
        edges = [0.0] + [x for c in chunks for x in c] + [w_len]  # silence, speech, silence, …, silence
        pauses = [(edges[i + 1] - edges[i], (edges[i] + edges[i + 1]) / 2) for i in range(0, len(edges) - 1, 2)]
        cut = w_start + max(pauses)[1]
        spans.append((start, cut))
        start = cut
    spans.append((start, audio.duration))
    return spans


def detect_language(model: Any, piece: np.ndarray) -> tuple[str, float, list[tuple[str, float]]]:
    """Whisper's language detection for one speech chunk (at most 30 s) at about half its cost.

    faster-whisper detects on the 30 s window Whisper was trained on: a chunk of a few seconds
    padded to 30 s costs a whole encoder pass. The chunk is first heard in a shorter window (its own
    length, at least ``QUICK_DETECT_FRAMES``): about a quarter of the work for most chunks. Only when
    that answer is below ``QUICK_CONFIDENCE`` is the chunk heard again in the full window, exactly
    as ``WhisperModel.detect_language`` does; the uncertain answers, the ones the routing rules
    turn on, always come from the full window. ``bench/transcribe.py --detection``: the decisions
    agree with the full window's on every chunk of the shared speech, at under half the time."""
    from faster_whisper.audio import pad_or_trim

    window = model.feature_extractor
    features = window(piece[:window.n_samples])
    frames = max(QUICK_DETECT_FRAMES, -(-features.shape[-1] // 100) * 100)  # whole seconds
    if frames < window.nb_max_frames:
        ranking = rank_languages(model, model.encode(pad_or_trim(features, frames)))
        if ranking[0][1] >= QUICK_CONFIDENCE:
            return ranking[0][0], ranking[0][1], ranking
    return model.detect_language(features=features)


def rank_languages(model: Any, encoder_output: Any) -> list[tuple[str, float]]:
    """Whisper's languages for one encoded window, most probable first: ``[("ru", 0.93), …]``."""
    return [(token[2:-2], float(p)) for token, p in model.model.detect_language(encoder_output)[0]]


def decide_language(model: Any, piece: np.ndarray, options: Options) -> tuple[str | None, float | None, bool]:
    """(language, probability, unreliable) for one speech chunk, by the rules in this module's doc."""
    if options.language != "auto":
        return options.language, None, False
    if not model.model.is_multilingual:
        return None, None, False
    return language_rule(*detect_language(model, piece), options)


def language_rule(lang: str, prob: float, ranking: list[tuple[str, float]],
                  options: Options) -> tuple[str | None, float | None, bool]:
    """The decision from Whisper's detection (its language, probability and ranking)."""
    unreliable = prob < LOW_CONFIDENCE or lang not in options.expected_languages
    if unreliable and options.fallback_language:
        lang = options.fallback_language
    elif options.kyrgyz and (lang in KYRGYZ_STAND_INS or prob < LOW_CONFIDENCE):
        return KYRGYZ, round(float(prob), 3), False
    elif lang not in options.expected_languages and lang not in KYRGYZ_STAND_INS:
        lang, prob = next(((code, p) for code, p in ranking if code in options.expected_languages), (lang, prob))
    return lang, round(float(prob), 3), unreliable


def plan(model: Any, audio: Audio | np.ndarray, options: Options) -> list[Span]:
    """Decide the spans (and their languages) a recording is transcribed in."""
    audio = as_audio(audio)
    duration = audio.duration
    if options.language != "auto" or not model.model.is_multilingual:
        language = None if options.language == "auto" else options.language
        if duration <= options.span_seconds:
            return [Span(0.0, duration, language)]
        return [Span(a, b, language) for a, b in _long_spans(audio, options.span_seconds)]

    chunks = speech_chunks(audio)
    decided: list[Span] = []
    for c_start, c_end in chunks:
        if c_end - c_start < MIN_DETECT_SECONDS and decided:
            prev = decided[-1]
            decided.append(Span(c_start, c_end, prev.language, prev.language_prob, prev.unreliable))
            continue
        decided.append(Span(c_start, c_end, *decide_language(model, audio.read(c_start, c_end), options)))
    if not decided:
        return []
    # Merge consecutive chunks of one language (and reliability) into spans, cut in the pauses.
    spans: list[Span] = []
    for chunk in decided:
        prev = spans[-1] if spans else None
        if (prev and prev.language == chunk.language and prev.unreliable == chunk.unreliable
                and chunk.end - prev.start <= options.span_seconds):
            prev.end = chunk.end
            prev.language_prob = min(prev.language_prob or 1.0, chunk.language_prob or 1.0)
        else:
            spans.append(Span(chunk.start, chunk.end, chunk.language, chunk.language_prob, chunk.unreliable))
    # Widen each span to the middle of the pauses around it so no speech edge is clipped.
    for i, span in enumerate(spans):
        span.start = 0.0 if i == 0 else (spans[i - 1].end + span.start) / 2
    for i, span in enumerate(spans[:-1]):
        span.end = spans[i + 1].start
    spans[-1].end = duration
    return spans


def _repetitive(text: str) -> bool:
    """True for a segment that is one short phrase looped (a classic Whisper hallucination)."""
    words = text.casefold().split()
    if len(words) < 8:
        return False
    for n in range(1, 5):
        grams = [tuple(words[i:i + n]) for i in range(0, len(words) - n + 1, n)]
        if grams and max(grams.count(g) for g in set(grams)) * n >= 0.8 * len(words):
            return True
    return False


def _clean(seg: Any, offset: float, span: Span, audio_end: float, previous: Segment | None) -> Segment | None:
    text = seg.text.strip()
    if not text or HALLUCINATIONS.match(text) or _repetitive(text):
        return None
    if previous is not None and previous.text == text and seg.start + offset - previous.end < 1.0:
        return None  # the same line emitted twice
    start, end = seg.start + offset, min(seg.end + offset, audio_end)
    words: list[Word] = []
    cursor = start
    for w in seg.words or []:
        w_start = min(max(w.start + offset, cursor, start), end)
        w_end = min(max(w.end + offset, w_start), end)
        words.append(Word(w.word, round(w_start, 3), round(w_end, 3), round(float(w.probability), 3)))
        cursor = w_start
    if words:
        start, end = min(start, words[0].start), max(end, words[-1].end)
    return Segment(start=round(start, 3), end=round(max(end, start), 3), text=text, words=words,
                   language=span.language, language_prob=span.language_prob, unreliable=span.unreliable)


def waiting_for_clerks(piece: np.ndarray, span: Span) -> list[Segment]:
    """A Kyrgyz span without a Kyrgyz model: one empty ``needs_transcription`` segment per speech chunk,
    never text that would pass for Kyrgyz."""
    return [Segment(start=round(span.start + a, 3), end=round(span.start + b, 3), text="", language=KYRGYZ,
                    language_prob=span.language_prob, needs_transcription=True)
            for a, b in speech_chunks(piece)]


def transcribe_span(model: Any, audio: Audio | np.ndarray, span: Span, options: Options,
                    batched: Any = None) -> list[Segment]:
    """Transcribe one span in batches; sentence segments in media time (seconds from the start)."""
    from faster_whisper import BatchedInferencePipeline

    audio = as_audio(audio)
    piece = audio.read(span.start, span.end)
    if len(piece) < SAMPLE_RATE // 10:
        return []
    if span.language in options.ctc:
        from transcribe.ctc import transcribe_piece

        segments: Any = transcribe_piece(options.ctc[span.language], piece)
    elif span.language == KYRGYZ:
        return waiting_for_clerks(piece, span)
    else:
        batched = batched or BatchedInferencePipeline(model)
        segments, _info = batched.transcribe(piece, **options.batched_kwargs(span.language))
    out: list[Segment] = []
    for seg in segments:
        cleaned = _clean(seg, span.start, span, audio.duration, out[-1] if out else None)
        if cleaned is not None:
            out.extend(split_sentences(cleaned))
    return join_fragments(out)


def transcribe_audio(
    model: Any,
    audio: Audio | np.ndarray,
    options: Options,
    spans: list[Span] | None = None,
    done: int = 0,
    on_span: Callable[[int, list[Span], list[Segment]], None] | None = None,
) -> list[Segment]:
    """Transcribe ``audio`` span by span, starting after the first ``done`` spans.

    ``on_span(index, spans, segments)`` is called after each span (checkpointing); the
    segments of spans before ``done`` are the caller's to keep.
    """
    from faster_whisper import BatchedInferencePipeline

    audio = as_audio(audio)
    spans = plan(model, audio, options) if spans is None else spans
    batched = BatchedInferencePipeline(model) if model is not None else None
    result: list[Segment] = []
    for i in range(done, len(spans)):
        segs = transcribe_span(model, audio, spans[i], options, batched)
        result.extend(segs)
        if on_span:
            on_span(i, spans, segs)
    return result


def span_to_dict(span: Span) -> dict[str, Any]:
    return asdict(span)
