"""Stenogram lines that follow sentences and pauses, bounded in length.

Batched faster-whisper returns one segment per speech chunk (up to 30 s), and Whisper's own
timestamps cut lines of one to three words; neither is a line a reader or a clerk wants. A line
here ends at a sentence's end or at a clear pause, once it holds a few words, and never runs
past ``MAX_SECONDS``. Words keep their times, so every cut is at a word boundary.
"""

from __future__ import annotations

from dataclasses import replace

from sanarip.stenogram import Segment, Word

SENTENCE_END = (".", "?", "!", "…", "。", "？", "！")
PAUSE_SECONDS = 0.8  # a gap between words this long ends a line
MIN_WORDS = 4  # a shorter line is not cut at a sentence end or a pause
MAX_SECONDS = 20.0  # a line longer than this is cut at its longest pause


def _cut_index(words: list[Word]) -> int:
    """Where to cut a run that is too long: after the word followed by the longest pause."""
    gaps = [(words[i + 1].start - words[i].end, i) for i in range(MIN_WORDS - 1, len(words) - 1)]
    return max(gaps)[1] + 1 if gaps else len(words) // 2


def _lines(words: list[Word]) -> list[list[Word]]:
    lines: list[list[Word]] = []
    current: list[Word] = []
    for i, word in enumerate(words):
        current.append(word)
        following = words[i + 1] if i + 1 < len(words) else None
        if following is None:
            break
        if current[-1].end - current[0].start > MAX_SECONDS and len(current) > 1:
            cut = _cut_index(current)
            lines.append(current[:cut])
            current = current[cut:]
        if len(current) >= MIN_WORDS and (word.word.strip().endswith(SENTENCE_END)
                                         or following.start - word.end >= PAUSE_SECONDS):
            lines.append(current)
            current = []
    if current:
        if lines and len(current) < MIN_WORDS and current[-1].end - lines[-1][0].start <= MAX_SECONDS:
            lines[-1].extend(current)  # a short tail joins the line before it
        else:
            lines.append(current)
    return lines


def split_sentences(segment: Segment) -> list[Segment]:
    """``segment`` as one or more lines; its language and reliability carry over to each."""
    if len(segment.words) < 2 * MIN_WORDS and segment.end - segment.start <= MAX_SECONDS:
        return [segment]
    lines = _lines(segment.words)
    if len(lines) == 1:
        return [segment]
    out = [replace(segment, start=line[0].start, end=line[-1].end, words=line,
                   text="".join(w.word for w in line).strip()) for line in lines]
    out[0].start, out[-1].end = segment.start, segment.end  # the lines cover what the segment did
    return out


def _joinable(a: Segment, b: Segment) -> bool:
    return (a.language == b.language and a.unreliable == b.unreliable and a.speaker_id == b.speaker_id
            and b.start - a.end < PAUSE_SECONDS and b.end - a.start <= MAX_SECONDS)


def join_fragments(lines: list[Segment]) -> list[Segment]:
    """Join lines that a chunk boundary, not the speaker, cut: a line that ends mid-sentence with
    the next one following without a pause, or a fragment of under ``MIN_WORDS`` words, joins the
    next line when the two stay within ``MAX_SECONDS`` and share language and reliability."""
    out: list[Segment] = []
    for line in lines:
        prev = out[-1] if out else None
        mid_sentence = prev is not None and not prev.text.rstrip().endswith(SENTENCE_END)
        short = prev is not None and (len(prev.words) < MIN_WORDS or len(line.words) < MIN_WORDS)
        if prev is not None and prev.words and line.words and (mid_sentence or short) and _joinable(prev, line):
            out[-1] = replace(prev, end=line.end, words=prev.words + line.words,
                              text=f"{prev.text.rstrip()} {line.text.lstrip()}")
        else:
            out.append(line)
    return out
