"""Diarization's pieces: clustering, the Viterbi relabelling, the shared spectrogram, the
encoder's threads, bridged speech runs; and whole recordings of one and of two speakers."""

import numpy as np
import pytest

from tests.conftest import unavailable
from transcribe import diarize as dz
from transcribe import voice
from transcribe.clustering import agglomerate, normed, viterbi

SR = 16000


@pytest.fixture(scope="module")
def enc():
    try:
        return voice.VoiceEncoder()
    except voice.WeightsError as exc:
        unavailable(str(exc))


def _load(testdata, rel):
    from faster_whisper import decode_audio

    return decode_audio(str(testdata / "speakers" / rel), sampling_rate=SR)


def _join(*pieces, pause=1.0):
    gap = np.zeros(int(pause * SR), np.float32)
    return np.concatenate([gap] + [x for p in pieces for x in (p, gap)])


def test_agglomerate_finds_the_groups_and_numbers_them_by_first_member():
    rng = np.random.default_rng(0)
    centres = normed(rng.normal(size=(3, 32)))
    rows = [2, 0, 0, 1, 2, 1, 0, 2]
    sums = np.stack([centres[k] + 0.05 * rng.normal(size=32) for k in rows])
    ids = agglomerate(sums, threshold=0.7)
    assert ids.tolist() == [0, 1, 1, 2, 0, 2, 1, 0]
    assert agglomerate(sums, threshold=1.01).tolist() == list(range(len(rows)))  # nothing is that close
    assert set(agglomerate(sums, threshold=-1.0).tolist()) == {0}


def test_viterbi_keeps_a_label_through_a_dip_but_follows_a_real_change():
    dip = np.array([[0.8, 0.6], [0.6, 0.7], [0.8, 0.6], [0.8, 0.6]])
    assert viterbi(dip, penalty=0.2).tolist() == [0, 0, 0, 0]
    assert viterbi(dip, penalty=0.0).tolist() == [0, 1, 0, 0]
    change = np.array([[0.8, 0.5], [0.8, 0.5], [0.5, 0.8], [0.5, 0.8], [0.5, 0.8]])
    assert viterbi(change, penalty=0.2).tolist() == [0, 0, 1, 1, 1]


def test_speech_runs_bridge_pauses_inside_a_turn_only():
    turns = [dz.Turn(0.0, 6.0, "S1"), dz.Turn(6.0, 9.0, "S2")]
    regions = [(0.0, 2.0), (2.8, 5.5), (6.2, 9.0)]
    assert dz.speech_runs(turns, regions) == [(0.0, 5.5, "S1"), (6.2, 9.0, "S2")]
    assert dz.speech_runs(turns, regions, bridge=0.5) == [(0.0, 2.0, "S1"), (2.8, 5.5, "S1"), (6.2, 9.0, "S2")]


def test_windows_lie_on_the_frame_grid_and_cover_the_region():
    wins = dz.windows([(0.37, 5.0), (6.0, 6.2), (7.0, 7.9)], step=1.6)
    assert [w for w in wins if w[0] == 0][-1][2] == 5.0
    assert all(abs((s - 0.37) * 100 - round((s - 0.37) * 100)) < 1e-6 for r, s, _e in wins if r == 0)
    assert not [w for w in wins if w[0] == 1]  # shorter than MIN_REGION
    assert [w for w in wins if w[0] == 2] == [(2, 7.0, 7.9)]


def test_one_spectrogram_per_region_matches_the_per_window_front_end(enc, testdata):
    """The sliced, re-gained region spectrogram gives each window the embedding its own
    level-normalised, zero-padded spectrogram gives (only the first and last frames differ)."""
    audio = dz.as_audio(_load(testdata, "en_ls_1688/1688-142285-0000.flac"))
    wins = dz.windows(dz.speech_regions(audio), step=0.8)
    shared = dz.embed_windows(audio, wins, enc)
    need = voice.PARTIAL_FRAMES * voice.HOP
    alone = []
    for _r, start, end in wins:
        wav = voice.normalize_volume(audio.read(start, end))
        alone.append(voice.mel_spectrogram(np.pad(wav, (0, max(0, need - len(wav))))[:need])[:voice.PARTIAL_FRAMES])
    separate = enc.embed_mels(np.stack(alone))
    assert len(wins) > 10
    assert float((shared * separate).sum(axis=1).min()) > 0.98


def test_the_encoder_gives_the_same_embeddings_in_any_batching(enc):
    """Batches run on the encoder's own threads (one BLAS thread each): the rows must not
    depend on which batch or thread computed them."""
    rng = np.random.default_rng(1)
    mels = rng.random((voice.CHUNK + 7, voice.PARTIAL_FRAMES, voice.N_MELS)).astype(np.float32)
    together = enc.embed_mels(mels)
    one_by_one = np.concatenate([enc.embed_mels(mels[i:i + 1]) for i in (0, voice.CHUNK + 3)])
    assert np.abs(together[[0, voice.CHUNK + 3]] - one_by_one).max() < 1e-5
    assert enc.embed_mels(mels[:0]).shape == (0, voice.EMBEDDING_SIZE)


def test_one_english_speaker_over_four_utterances_gets_one_label(testdata, enc):
    utts = ["en_ls_2609/2609-156975-0006.flac", "en_ls_2609/2609-156975-0008.flac",
            "en_ls_2609/2609-156975-0005.flac", "en_ls_2609/2609-156975-0001.flac"]
    turns = dz.diarize(_join(*[_load(testdata, u) for u in utts], pause=1.5), enc=enc)
    assert [t.label for t in turns] == ["S1"]


def test_two_speakers_taking_turns_keep_their_labels(testdata, enc):
    a = ["en_ls_3080/3080-5032-0001.flac", "en_ls_3080/3080-5032-0005.flac"]
    b = ["en_ls_533/533-1066-0002.flac", "en_ls_533/533-1066-0004.flac"]
    pieces = [_load(testdata, a[0]), _load(testdata, b[0]), _load(testdata, a[1]), _load(testdata, b[1])]
    turns = dz.diarize(_join(*pieces), enc=enc)
    assert [t.label for t in turns] == ["S1", "S2", "S1", "S2"]


def test_past_max_clustered_the_longest_regions_seed_and_the_rest_join(monkeypatch):
    """A sitting of hours: only the ``MAX_CLUSTERED`` longest regions are agglomerated; every
    other region still gets its speaker's label from the nearest centroid."""
    rng = np.random.default_rng(2)
    voices = normed(rng.normal(size=(3, 64)))
    who = rng.integers(0, 3, 60)
    regions = [(10.0 * k, 10.0 * k + (3.0 if k % 4 else 8.0)) for k in range(60)]
    wins = [(k, a + 1.6 * j, a + 1.6 * (j + 1)) for k, (a, b) in enumerate(regions) for j in range(int((b - a) // 1.6))]
    emb = normed(np.stack([voices[who[r]] + 0.05 * rng.normal(size=64) for r, _s, _e in wins]))
    monkeypatch.setattr(dz, "MAX_CLUSTERED", 15)
    labels = dz.cluster(regions, wins, emb)
    by_region = {r: labels[i] for i, (r, _s, _e) in enumerate(wins)}
    mapping = {}
    for r, lab in by_region.items():
        assert mapping.setdefault(who[r], lab) == lab
    assert len(set(mapping.values())) == 3


def test_a_speaker_cutting_in_without_a_pause_is_found(testdata, enc):
    """No pause between the two voices, so VAD gives one region: its pieces seed a cluster each
    and the Viterbi pass puts the change near the join."""
    def speech(rel):
        audio = _load(testdata, rel)
        regions = dz.speech_regions(audio)
        return audio[int((regions[0][0] + 0.2) * SR):int((regions[-1][1] - 0.2) * SR)]

    a, b = speech("en_ls_1998/1998-15444-0004.flac"), speech("en_ls_2609/2609-156975-0005.flac")
    audio = np.concatenate([np.zeros(SR, np.float32), a, b, np.zeros(SR, np.float32)])
    join = 1.0 + len(a) / SR
    regions = dz.speech_regions(audio)
    assert len(regions) == 1 and regions[0][0] < join - 3 and regions[0][1] > join + 3  # one region, both voices
    turns = dz.diarize(audio, enc=enc, regions=regions)
    assert [t.label for t in turns] == ["S1", "S2"]
    assert abs(turns[0].end - join) < 1.6
