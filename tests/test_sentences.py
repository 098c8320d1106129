"""Final-pass lines follow sentences and pauses, bounded in length; audio is read span by span."""

import numpy as np
import pytest

from sanarip.config import ConfigError, load_settings
from sanarip.stenogram import Segment, Word
from transcribe.audio import decoded
from transcribe.models import batch_size
from transcribe.sentences import MAX_SECONDS, MIN_WORDS, split_sentences


def _segment(spec: list[tuple[str, float, float]]) -> Segment:
    words = [Word(f" {w}", s, e) for w, s, e in spec]
    return Segment(words[0].start, words[-1].end, "".join(w.word for w in words).strip(), words, language="ru",
                   unreliable=True)


def _timed(text: str, start: float = 0.0, step: float = 0.4, pause_after: dict[int, float] | None = None):
    out, t = [], start
    for i, w in enumerate(text.split()):
        out.append((w, t, t + step - 0.1))
        t += step + (pause_after or {}).get(i, 0.0)
    return out


def test_a_chunk_is_cut_into_its_sentences():
    seg = _segment(_timed("Заседание объявляется открытым. На повестке дня три вопроса сегодня. Слово предоставляется "
                          "председателю комитета по бюджету."))
    lines = split_sentences(seg)
    assert [ln.text for ln in lines] == ["Заседание объявляется открытым. На повестке дня три вопроса сегодня.",
                                         "Слово предоставляется председателю комитета по бюджету."]
    assert lines[0].start == seg.start and lines[-1].end == seg.end
    assert all(ln.language == "ru" and ln.unreliable for ln in lines)
    assert [w for ln in lines for w in ln.words] == seg.words  # no word lost or moved


def test_short_fragments_are_not_lines_of_their_own():
    seg = _segment(_timed("Да. Нет. Хорошо. Теперь перейдём ко второму вопросу повестки дня, коллеги."))
    lines = split_sentences(seg)
    assert all(len(ln.words) >= MIN_WORDS for ln in lines), [ln.text for ln in lines]


def test_a_pause_ends_a_line_and_a_long_run_is_cut():
    seg = _segment(_timed("мы рассмотрели проект бюджета на следующий год и", pause_after={7: 1.5})
                   + _timed("теперь голосуем за него все вместе", start=5.0))
    assert [ln.text for ln in split_sentences(seg)] == ["мы рассмотрели проект бюджета на следующий год и",
                                                        "теперь голосуем за него все вместе"]
    run = _segment(_timed(" ".join(["слово"] * 120), step=0.3))  # 36 s without a full stop
    lines = split_sentences(run)
    assert len(lines) >= 2 and all(ln.end - ln.start <= MAX_SECONDS + 0.5 for ln in lines)


def test_batch_size_from_the_setting_or_the_machine():
    assert batch_size("3", "cpu") == 3
    assert 4 <= batch_size("auto", "cpu") <= 16
    with pytest.raises(ConfigError, match="SANARIP_BATCH_SIZE"):
        load_settings({"SANARIP_BATCH_SIZE": "0"})


def test_the_pcm_file_holds_exactly_what_decode_audio_gives(testdata):
    from faster_whisper import decode_audio

    source = str(testdata / "ru/long_voxforge_1-20121125-pgp_7utts.wav")
    whole = decode_audio(source, sampling_rate=16000)
    with decoded(source) as audio:
        assert audio.duration == len(whole) / 16000
        assert np.array_equal(audio.read(0, audio.duration), whole)
        assert np.array_equal(audio.read(12.5, 20.0), whole[200_000:320_000])
    with pytest.raises(Exception):  # noqa: B017 - PyAV's own error types
        with decoded(str(testdata / "README.md")):
            pass


def test_lines_cut_by_a_chunk_boundary_are_joined():
    from transcribe.sentences import join_fragments

    first = _segment(_timed("Через несколько лет путешествие на Марс будет"))
    rest = _segment(_timed("не более сложно, чем перелёт в Берлин.", start=first.end + 0.3))
    fragment = _segment(_timed("Уфер.", start=rest.end + 0.2))
    after_pause = _segment(_timed("Следующий вопрос повестки дня, коллеги.", start=fragment.end + 2.0))
    lines = join_fragments([first, rest, fragment, after_pause])
    assert [ln.text for ln in lines] == ["Через несколько лет путешествие на Марс будет не более сложно, чем перелёт в "
                                         "Берлин. Уфер.", "Следующий вопрос повестки дня, коллеги."]
    assert [w for ln in lines for w in ln.words] == first.words + rest.words + fragment.words + after_pause.words
