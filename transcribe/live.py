"""The live draft: incremental transcription of ingest's short audio chunks (at most 1 s) while a sitting records.

Stable-prefix commitment in the manner of LocalAgreement-2: the uncommitted audio buffer is
re-transcribed as chunks arrive, and the words on which two consecutive hypotheses agree
are committed. When the speaker pauses (the hypothesis ends at least ``SILENCE`` seconds
before the buffer does), the whole hypothesis is committed at once: words followed by a
pause rarely change, and waiting for a second pass would only add latency.

After each pass the words not yet in a segment (committed or still tentative) go to
``on_partial``, so a viewer sees speech a few seconds after it is said, long before the
sentence ends and its segment is committed. The job then extends the subtitle rendition
(``sanarip.subtitles``: VTT segments once their span has settled) and rewrites the live-state
file (``sanarip.livestate``: the partial words), the only things viewers fetch.

Committed words are grouped into segments by the final pass's line rules (a sentence end or
a pause once a line holds a few words, never longer than ``transcribe.sentences.MAX_SECONDS``),
saved as ``source="live"`` rows and indexed at once. The buffer is trimmed at committed line
ends, and beyond ``TRIM_ABOVE`` seconds also in the pause after a committed Whisper segment inside
a line still open (its words then become the pass's prompt), so a pass rarely hears more than
~11 s and never more than ``MAX_BUFFER``: its cost grows with what it hears.

Languages (issue 22): the buffer's language is decided by the final pass's rules
(``language_rule``; with a committee that expects Kyrgyz, a Turkic stand-in or a low-confidence
detection is ``ky``), from Whisper's language ranking on the pass's own encoder output (a
detection pass of its own only for the first buffer, an unsure answer, or while the buffer is
Kyrgyz). A Kyrgyz
buffer goes to the configured Kyrgyz CTC model (``Options.ctc``) instead of Whisper, through the
same agreement and line rules; without one, its finished speech
chunks become empty ``needs_transcription`` segments, as in the final pass, never Whisper's
Kazakh-like text. Every committed line is then labelled from its text by ``sanarip.langid``,
restricted to the committee's languages.

When the recording ends, the rest of the hypothesis is committed and the job ends at once:
the recorder has queued the final pass, which replaces the draft. Decoding is greedy, without
temperature fallback and with a token cap (the final pass uses beam search): each pass stays
short, so the draft keeps up with the stream on a small CPU.
"""

from __future__ import annotations

import copy
import io
import itertools
import logging
import re
import threading
import time
import types
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import func, select, update

from sanarip import livestate
from sanarip.jobs import JobContext
from sanarip.langid import DEFAULT_LANGUAGES, committee_languages, label
from sanarip.medialayout import AUDIO_CHUNK_SECONDS, audio_chunk_offset, audio_chunk_prefix
from sanarip.models import SegmentSource, Sitting, TranscriptSegment
from sanarip.pipeline import LivePayload
from sanarip.sittings import get_sitting, is_ongoing
from sanarip.stenogram import Segment, Word
from sanarip.storage import NotFound
from sanarip.subtitles import LiveRendition
from sanarip.transcripts import segment_to_row
from transcribe.engine import (
    HALLUCINATIONS,
    KYRGYZ,
    MIN_DETECT_SECONDS,
    QUICK_CONFIDENCE,
    SAMPLE_RATE,
    Options,
    Span,
    decide_language,
    language_rule,
    rank_languages,
    waiting_for_clerks,
)
from transcribe.live_speakers import LiveVoices
from transcribe.models import language_model_paths, load_language_models, load_model, needs_whisper
from transcribe.sentences import MAX_SECONDS, MIN_WORDS, PAUSE_SECONDS, SENTENCE_END

log = logging.getLogger(__name__)

MAX_BUFFER = 15.0  # seconds of uncommitted audio re-transcribed at most
SILENCE = 1.0
TRIM_ABOVE = 6.0  # seconds of buffer beyond which committed phrases are dropped from it
CONTEXT_WORDS = 30  # the open line's dropped words given as the prompt, at most
# faster-whisper keeps up to 223 prompt tokens plus 4 special ones, and refuses a prompt and
# max_new_tokens over 448: with a prompt a pass writes at most this many (a 30 s window of speech
# is about 100).
PROMPTED_TOKENS = 220
POLL = 0.25
PUBLISH_EVERY = 0.5  # seconds between rendition updates while a pass runs
LIVE_WINDOW_FRAMES = 2000  # mel frames (20 s) the live pass's encoder hears, instead of Whisper's 3000


def _encode_shorter(self: Any, features: np.ndarray) -> Any:
    """``WhisperModel.encode`` on the window's first ``LIVE_WINDOW_FRAMES`` frames when the rest is
    faster-whisper's zero padding (a live buffer holds at most ``MAX_BUFFER`` seconds). The first
    output after ``encoded`` is reset is kept: the pass's language is read from it at the cost of
    one decoder step."""
    if features.ndim == 2:
        features = np.expand_dims(features, 0)
    heard = np.flatnonzero(np.any(features != 0, axis=(0, 1)))
    frames = int(heard[-1]) + 1 if len(heard) else 0
    if frames <= LIVE_WINDOW_FRAMES:
        features = np.ascontiguousarray(features[..., :LIVE_WINDOW_FRAMES])
    out = type(self).encode(self, features)
    if self.encoded is None:  # the pass's first window, from the buffer's start (a later one: its tail)
        self.encoded = out
    return out


def shorter_window(model: Any) -> Any:
    """A view of ``model`` (same weights) whose passes encode 20 s instead of 30 s windows.

    The encoder's cost grows faster than its window (base on 2 cores: 0.58 s for 30 s, 0.14 s
    for 15 s), and it was most of a live pass. On the shared en and ru files in 12 s pieces a
    20 s window kept the word error rate (0.126 vs 0.121 en, 0.226 vs 0.242 ru) in 0.62–0.68 of
    the time; 10 s and 15 s windows made more errors (en 0.43 and 0.15). whisper.cpp's
    ``audio_ctx`` is the same idea."""
    if model is None or not hasattr(model, "encode"):
        return model
    view = copy.copy(model)
    view.encode = types.MethodType(_encode_shorter, view)
    view.encoded = None
    return view


def heard_language(view: Any) -> list[tuple[str, float]] | None:
    """Whisper's language ranking from the pass's first encoder window, kept by ``view``
    (``shorter_window``); None when the pass encoded nothing (no speech)."""
    return None if view.encoded is None else rank_languages(view, view.encoded)


def _norm(word: str) -> str:
    return re.sub(r"[^\w]", "", word.casefold())


def _norm_text(text: str) -> str:
    return " ".join(_norm(w) for w in text.split())


def read_chunk(data: bytes) -> np.ndarray:
    """A 16-bit mono WAV as float32 samples."""
    with wave.open(io.BytesIO(data)) as wav:
        frames = wav.readframes(wav.getnframes())
    return np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0


@dataclass
class LiveState:
    """The transcriber's moving parts, all in media seconds."""

    buffer: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    buffer_start: float = 0.0
    committed_until: float = 0.0
    previous: list[Word] = field(default_factory=list)  # last hypothesis after committed_until
    pending: list[Word] = field(default_factory=list)  # committed words not yet in a segment
    last_text: str = ""  # normalized text and end of the last segment emitted
    last_end: float = 0.0
    cuts: list[tuple[float, float]] = field(default_factory=list)  # (segment's last word end, cut) between segments


class LiveTranscriber:
    """Feed it audio, call ``step`` when caught up; committed segments go to ``on_segment``.

    With ``options.language == "auto"`` each pass decides the language of its buffer by the
    final pass's rules (expected languages, Kyrgyz stand-ins, fallback); ``languages`` are the
    committee's, among which the text language identifier labels each committed line.
    """

    def __init__(self, model: Any, options: Options, on_segment: Callable[[Segment], None],
                 on_partial: Callable[[dict[str, Any] | None], None] | None = None,
                 languages: tuple[str, ...] = DEFAULT_LANGUAGES) -> None:
        self.model = shorter_window(model)
        self.options = options
        self.languages = languages
        self.on_segment = on_segment
        self.on_partial = on_partial
        self._partial: dict[str, Any] | None = None
        self.state = LiveState()
        self.language: str | None = None
        self.language_prob: float | None = None
        self.unreliable = False
        self._decided: tuple[float, float] = (-1.0, 0.0)  # buffer start and length at the last decision

    # --- audio in ------------------------------------------------------------------------
    def feed(self, offset: float, samples: np.ndarray) -> None:
        """Add a chunk at its media time ``offset``, so that word times stay media times across
        connections. A chunk that starts before the buffer's end replaces what follows that point
        (a connection that ended mid-segment stored audio whose media segment was never listed;
        the next one's audio starts where the media does); a later one is preceded by silence, or
        after more than ``MAX_BUFFER`` seconds, the buffer is finished first and begins anew."""
        st = self.state
        end = st.buffer_start + self.buffered
        if len(st.buffer) and offset < end - 0.05:
            st.buffer = st.buffer[:max(0, int(round((offset - st.buffer_start) * SAMPLE_RATE)))]
        elif len(st.buffer) and offset > end + MAX_BUFFER:
            self.step(final=True)
            st.buffer = np.zeros(0, dtype=np.float32)
        elif len(st.buffer) and offset > end + 0.05:
            st.buffer = np.concatenate([st.buffer, np.zeros(int(round((offset - end) * SAMPLE_RATE)), np.float32)])
        if not len(st.buffer):
            st.buffer_start = max(offset, st.committed_until) if st.committed_until else offset
            skip = int(max(0.0, st.buffer_start - offset) * SAMPLE_RATE)
            st.buffer = samples[skip:]
        else:
            st.buffer = np.concatenate([st.buffer, samples])

    @property
    def buffered(self) -> float:
        return len(self.state.buffer) / SAMPLE_RATE

    # --- one pass ----------------------------------------------------------------------------
    def _decision_due(self) -> bool:
        """Whether this pass decides its buffer's language: the first buffer of all, then a buffer
        that starts anew (a new line) or has doubled since the last decision; with a Kyrgyz model
        configured, every pass, so that a passage switching to Kyrgyz reaches that model in the
        pass that hears it. A buffer shorter than ``MIN_DETECT_SECONDS`` keeps the last decision,
        as a short chunk does in the final pass."""
        st = self.state
        at, length = self._decided
        if self.language is None:
            return self.buffered >= 0.3
        if self.buffered < MIN_DETECT_SECONDS:
            return False
        return bool(self.options.ctc) or at != st.buffer_start or self.buffered >= 2 * length

    def _heard_by_whisper(self) -> bool:
        """Whether the pass runs Whisper, whose encoder output then tells the language too."""
        return (self.language is not None and self.language != KYRGYZ and self.language not in self.options.ctc
                and self.options.language == "auto" and hasattr(self.model, "encoded")
                and self.model.model.is_multilingual)

    def _decide_language(self, ranking: list[tuple[str, float]] | None = None) -> None:
        """Decide by the final pass's rules, from ``ranking`` (this pass's own encoder output) or
        else by a detection pass of its own (the first buffer, a Kyrgyz one, an unsure answer)."""
        st = self.state
        if ranking:
            decision = language_rule(ranking[0][0], ranking[0][1], ranking, self.options)
        else:
            decision = decide_language(self.model, st.buffer, self.options)
        self.language, self.language_prob, self.unreliable = decision
        self._decided = (st.buffer_start, self.buffered)

    def _hypothesis(self, context: bool = True) -> list[Word]:
        st = self.state
        if self.language in self.options.ctc:  # the Kyrgyz model: deterministic frames, no VAD needed
            from transcribe.ctc import transcribe_piece

            segments: Any = transcribe_piece(self.options.ctc[self.language], st.buffer)
        else:
            prompt = self._context() if context else None
            cap = min(400, int(self.buffered * 10) + 20)
            segments, _ = self.model.transcribe(
                st.buffer, language=self.language, beam_size=1, word_timestamps=True, vad_filter=True,
                condition_on_previous_text=False, temperature=0.0, initial_prompt=prompt,
                max_new_tokens=min(cap, PROMPTED_TOKENS) if prompt else cap)
        words: list[Word] = []
        ends: list[tuple[float, float]] = []  # each Whisper segment's first word start and last word end
        for seg in segments:
            if HALLUCINATIONS.match(seg.text.strip()):
                continue
            for w in seg.words or []:
                start = st.buffer_start + w.start
                if start >= st.committed_until - 0.05 and _norm(w.word):
                    words.append(Word(w.word, round(start, 3), round(st.buffer_start + w.end, 3),
                                      round(float(w.probability), 3)))
            if seg.words:
                ends.append((st.buffer_start + seg.words[0].start, st.buffer_start + seg.words[-1].end))
        # A cut between two segments lies midway in the pause between them: a word's aligned end often
        # falls before its sound does, and the rest of it, left in the buffer, would be heard again.
        st.cuts = [(a[1], (a[1] + b[0]) / 2) for a, b in itertools.pairwise(ends)]
        return words

    def step(self, final: bool = False) -> None:
        """Transcribe the buffer and commit what two hypotheses agree on (everything if final).

        A due language decision is read from the pass's own encoder output (one decoder step; a
        detection pass of its own cost 0.2–0.6 s, just when a new line's first words wait to be
        shown). Should it change the language, the pass is heard again in the new one."""
        st = self.state
        if self.buffered < 0.5 and not final:
            return
        due = self._decision_due()
        from_pass = due and self._heard_by_whisper()
        if due and not from_pass:
            self._decide_language()
        if self._kyrgyz_waiting(final):
            return
        if from_pass:
            self.model.encoded = None
        hyp = self._hypothesis() if self.buffered >= 0.3 else []
        if from_pass and (ranking := heard_language(self.model)):
            used = self.language
            # An unsure answer is heard again by detection of its own, as the final pass does
            # (``detect_language``): the routing rules turn on those answers.
            self._decide_language(ranking if ranking[0][1] >= QUICK_CONFIDENCE else None)
            if self.language != used:  # heard again in the language just decided, without the old one's words
                if self._kyrgyz_waiting(final):
                    return
                hyp = self._hypothesis(context=False)
        buffer_end = st.buffer_start + self.buffered
        if final or (hyp and buffer_end - hyp[-1].end >= SILENCE):
            agreed = hyp
        else:
            n = 0
            while n < min(len(hyp), len(st.previous)) and _norm(hyp[n].word) == _norm(st.previous[n].word):
                n += 1
            agreed = hyp[:n]
        for w in agreed:
            self._commit(w)
        st.previous = hyp[len(agreed):]
        self._trim_heard()
        if final or (agreed and agreed is hyp and len(st.pending) >= MIN_WORDS):
            self._close_segment()
        elif agreed and agreed is hyp:  # a pause after a fragment: it waits for the next words, not a line
            self._trim(st.committed_until)
        elif self.buffered > MAX_BUFFER:
            # Nothing agreed for too long, or a backlog (the model loaded while chunks arrived, the CPU
            # was busy): commit the hypothesis but its last MAX_BUFFER / 2 seconds, so one pass catches
            # up however far behind it began (committing only the oldest 7.5 s, a 60 s backlog took
            # minutes of passes over the whole buffer, and every line meanwhile came a minute late).
            cut = max(st.buffer_start + MAX_BUFFER / 2, buffer_end - MAX_BUFFER / 2)
            for w in [w for w in st.previous if w.end <= cut]:
                self._commit(w)
            st.previous = [w for w in st.previous if w.end > cut]
            self._close_segment()
            self._trim(max(cut, st.committed_until))
        self._report_partial()

    @property
    def settled_until(self) -> float:
        """Media time before which no new segment can start: the earliest word not yet in a
        segment, or (nothing pending) a second before the buffer's end (a word may be half heard)."""
        st = self.state
        words = st.pending + st.previous
        if words:
            return words[0].start
        return max(st.committed_until, st.buffer_start + self.buffered - 1.0)

    def partial(self) -> dict[str, Any] | None:
        """The words not yet in a segment: ``{"start", "text", "language"}``, or None."""
        words = self.state.pending + self.state.previous
        if not words:
            return None
        return {"start": float(words[0].start), "text": "".join(w.word for w in words).strip(),
                "language": self.language}

    def _report_partial(self) -> None:
        partial = self.partial()
        if partial != self._partial and self.on_partial is not None:
            self.on_partial(partial)
        self._partial = partial

    def _commit(self, word: Word) -> None:
        """Lines follow the final pass's rules (``transcribe.sentences``): a sentence end or a pause
        ends a line once it holds ``MIN_WORDS``; none runs past ``MAX_SECONDS``."""
        st = self.state
        if st.pending and (word.end - st.pending[0].start > MAX_SECONDS
                           or (word.start - st.pending[-1].end >= PAUSE_SECONDS and len(st.pending) >= MIN_WORDS)):
            self._close_segment()
        st.pending.append(word)
        st.committed_until = word.end
        if word.word.rstrip().endswith(SENTENCE_END) and len(st.pending) >= MIN_WORDS:
            self._close_segment()

    def _close_segment(self) -> None:
        st = self.state
        if not st.pending:
            return
        words, st.pending = st.pending, []
        text = "".join(w.word for w in words).strip()
        language = label(text, self.languages, self.language)  # the text decides, as after the final pass
        seg = Segment(start=words[0].start, end=words[-1].end, text=text, words=words, language=language,
                      language_prob=self.language_prob, unreliable=self.unreliable)
        self._trim(seg.end)
        if st.last_text == _norm_text(text) and seg.start - st.last_end < 3.0:
            return  # the same line again: a hallucination loop, not speech
        st.last_text, st.last_end = _norm_text(text), seg.end
        self.on_segment(seg)

    def _kyrgyz_waiting(self, final: bool) -> bool:
        """A Kyrgyz buffer and no Kyrgyz model: its speech waits for the clerks (``_waiting``)."""
        if self.buffered < 0.3 or self.language != KYRGYZ or KYRGYZ in self.options.ctc:
            return False
        self._waiting(final)
        self._report_partial()
        return True

    def _waiting(self, final: bool) -> None:
        """A Kyrgyz buffer and no Kyrgyz model: each finished speech chunk (a second of silence after
        it, or the recording's end) becomes an empty ``needs_transcription`` segment, as in the final pass."""
        st = self.state
        self._close_segment()  # words heard before (another language) keep their own line
        st.previous = []
        buffer_end = st.buffer_start + self.buffered
        chunks = waiting_for_clerks(st.buffer, Span(st.buffer_start, buffer_end, KYRGYZ, self.language_prob))
        done = [c for c in chunks if c.start >= st.committed_until - 0.05
                and (final or self.buffered > MAX_BUFFER or c.end <= buffer_end - SILENCE)]
        for seg in done:
            seg.end = min(seg.end, buffer_end)
            self.on_segment(seg)
        if done:
            st.committed_until = st.last_end = done[-1].end
            st.last_text = ""
            self._trim(done[-1].end)
        elif not chunks:  # silence only: nothing to keep
            self._trim(max(st.committed_until, buffer_end - SILENCE))

    def _context(self) -> str | None:
        """The open line's words whose audio was dropped (``_trim_heard``), as Whisper's prompt: the
        pass still hears the sentence it continues (offline on the bench's English speech, WER
        0.136 with it and 0.150 without, cutting at the last word's end; 0.141 keeping the audio,
        and 0.141 with it after the review moved the cut into the pause)."""
        dropped = [w.word.strip() for w in self.state.pending if w.end <= self.state.buffer_start + 0.01]
        return " ".join(dropped[-CONTEXT_WORDS:]) or None

    def _trim_heard(self) -> None:
        """Drop the audio of committed Whisper segments once the buffer is longer than ``TRIM_ABOVE``,
        even while their line is still open: a pass costs about its buffer's length, and a reader
        who never pauses long enough to end a line kept up to ``MAX_BUFFER`` seconds in every pass
        (1.5–1.9 s each, the slowest partials). The cut is midway in the pause after a committed
        Whisper segment (between phrases), before the first word not yet committed."""
        st = self.state
        if self.buffered <= TRIM_ABOVE:
            return
        limit = min([st.buffer_start + self.buffered] + [w.start for w in st.previous[:1]])
        done = [cut for end, cut in st.cuts if end <= st.committed_until + 0.001 and cut <= limit]
        if done:
            self._trim(done[-1])

    def _trim(self, until: float) -> None:
        st = self.state
        drop = int(max(0.0, until - st.buffer_start) * SAMPLE_RATE)
        if drop > 0:
            st.buffer = st.buffer[drop:]
            st.buffer_start += drop / SAMPLE_RATE


def _still_live(rt, sitting_id: int) -> bool:
    with rt.db.session(readonly=True) as s:
        return is_ongoing(s.scalar(select(Sitting.status).where(Sitting.id == sitting_id)))


def run_live_job(ctx: JobContext) -> None:
    """The ``live`` job: payload ``{"sitting": id, "drain": bool}``; runs until the recording ends.

    With ``drain`` it first transcribes every chunk already stored (offline use: tests,
    benchmarks); otherwise a backlog is dropped once the recording has ended.
    """
    rt = ctx.runtime
    args: LivePayload = ctx.args
    sitting_id = args.sitting
    with rt.db.session(readonly=True) as s:
        sitting = get_sitting(s, sitting_id)
        committee = sitting.committee
        languages = committee_languages(committee)
        options = Options(language=args.language or "auto", fallback_language=committee.fallback_language,
                          kyrgyz=KYRGYZ in languages)
        model_name = args.model or committee.model or rt.settings.model
        paths = language_model_paths(rt.settings.language_model_paths, committee.language_models)
        committed = s.scalar(select(func.max(TranscriptSegment.end)).where(
            TranscriptSegment.sitting_id == sitting_id, TranscriptSegment.source == SegmentSource.LIVE)) or 0.0
    options.ctc = load_language_models(paths, rt.settings.device)
    model = (load_model(model_name, rt.settings.effective_model_cache, rt.settings.device)
             if needs_whisper(options.language, options.ctc) else None)
    voices = LiveVoices(rt)

    def save(seg: Segment) -> None:
        seg.speaker_proposal = voices.propose(seg)  # the live page shows it, marked automatic
        with rt.db.session() as s:
            if s.scalar(select(TranscriptSegment.id).where(TranscriptSegment.sitting_id == sitting_id,
                                                           TranscriptSegment.source != SegmentSource.LIVE)
                        .limit(1)):
                return  # the final pass has already replaced the draft
            row = segment_to_row(sitting_id, seg, SegmentSource.LIVE)
            s.add(row)
            s.flush()
            row_id = row.id
        rt.indexer.segments_added(sitting_id, [row_id])  # searchable within seconds

    def show_partial(partial: dict[str, Any] | None) -> None:
        with rt.db.session() as s:
            s.execute(update(Sitting).where(Sitting.id == sitting_id).values(live_partial=partial))

    live = LiveTranscriber(model, options, save, show_partial, languages)
    live.state.committed_until = committed
    rendition = LiveRendition(rt.storage, sitting_id)
    shown: dict[str, Any] | None = None

    publishing = threading.Lock()

    def publish(ended: bool = False) -> None:
        """The subtitle rendition and the live-state file: what viewers fetch as static files."""
        nonlocal shown
        with publishing:
            with rt.db.session(readonly=True) as s:
                rendition.update(s, float("inf") if ended else live.settled_until, ended=ended)
            shown = livestate.write(rt, sitting_id, shown)

    # A pass takes seconds on a busy CPU, and players sit only two segments behind the edge: a
    # VTT segment written after the playhead passed its time is never loaded (and its lines never
    # shown). So the rendition is also extended from a thread every PUBLISH_EVERY seconds, while
    # the model runs (it releases the GIL): each VTT segment is out MAX_WAIT after its media.
    stop_publishing = threading.Event()

    def keep_publishing() -> None:
        while not stop_publishing.wait(PUBLISH_EVERY):
            try:
                publish()
            except Exception:  # a failed update is retried at the next tick or pass
                log.exception("sitting %s: live rendition update failed", sitting_id)

    publisher = threading.Thread(target=keep_publishing, name=f"live-publish-{sitting_id}", daemon=True)
    publisher.start()

    seq = int(ctx.progress.get("seq", 0))
    drain = args.drain
    last_status_check = time.monotonic()
    try:
        while True:
            ctx.check()
            keys = rt.storage.list(audio_chunk_prefix(sitting_id, seq))
            if keys and not drain and time.monotonic() - last_status_check > 5:
                last_status_check = time.monotonic()
                if not _still_live(rt, sitting_id):
                    break  # behind, and the recording is over: the final pass takes it from here
            if keys:
                offset = audio_chunk_offset(keys[0])
                if offset + AUDIO_CHUNK_SECONDS + 0.5 > committed:  # skip chunks the draft already covered (resume)
                    try:
                        audio = read_chunk(rt.storage.get_bytes(keys[0]))
                    except NotFound:  # the final pass finished and deleted the chunks: nothing left to draft
                        break
                    live.feed(offset, audio)
                    voices.feed(offset, audio)
                seq += 1
                if drain or not rt.storage.list(audio_chunk_prefix(sitting_id, seq)):  # caught up: transcribe now
                    live.step()
                    publish()
                    ctx.report(seq=seq)
                continue
            if not _still_live(rt, sitting_id):
                break
            time.sleep(POLL)
        live.step(final=True)
    finally:
        stop_publishing.set()
        publisher.join()
        show_partial(None)
    publish(ended=True)
    log.info("sitting %s: live draft finished after %d chunks", sitting_id, seq)
