"""The ``diarize`` stage of the final pass and the ``learn_voice`` job.

``diarize`` decodes the sitting's media again (the transcribe stage has deleted its PCM file),
finds the speaker turns, labels and splits the segments, and proposes speakers (voice profiles,
then the chair's words). The turns are saved in the job's progress before anything is written,
so a job that dies after the embedding pass resumes without redoing it; writing is one
transaction, and a re-run gives the same labels (the clustering is deterministic).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

import numpy as np

from sanarip.jobs import JobContext, PermanentFailure
from sanarip.medialayout import local_playlist
from sanarip.pipeline import DiarizePayload, VoiceProfilePayload
from sanarip.speakers import (
    MIN_CONFIRMED_SECONDS,
    add_profile,
    load_profiles,
    persons,
    propose,
    split_by_source,
    store_speakers,
)
from sanarip.storage import NotFound
from sanarip.transcripts import working_segments
from transcribe.audio import Audio, decoded
from transcribe.diarize import Turn, assign, diarize, embed_windows, windows

log = logging.getLogger(__name__)


def label_embeddings(turns: list[Turn]) -> dict[str, np.ndarray]:
    """Each label's embedding: its turns' embeddings weighted by duration, L2-normed."""
    sums: dict[str, np.ndarray] = {}
    for t in turns:
        if t.embedding is not None:
            sums[t.label] = sums.get(t.label, 0) + t.embedding * (t.end - t.start)
    return {k: v / max(float(np.linalg.norm(v)), 1e-12) for k, v in sums.items()}


def _with_media(ctx: JobContext, work) -> object:
    rt, sitting_id = ctx.runtime, ctx.args.sitting
    workdir = Path(tempfile.mkdtemp(prefix="sanarip-diarize-"))
    try:
        try:
            playlist = local_playlist(rt.storage, sitting_id, workdir)
        except NotFound as exc:
            raise PermanentFailure(str(exc)) from None
        with decoded(str(playlist)) as audio:
            return work(audio)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run_diarize_job(ctx: JobContext) -> None:
    rt = ctx.runtime
    args: DiarizePayload = ctx.args
    if "turns" in ctx.progress:
        turns = [Turn(t["start"], t["end"], t["label"], np.asarray(t["embedding"], dtype=np.float32))
                 for t in ctx.progress["turns"]]
    else:
        turns = _with_media(ctx, diarize)
        ctx.report(turns=[{"start": t.start, "end": t.end, "label": t.label,
                           "embedding": [round(float(x), 6) for x in t.embedding]} for t in turns])
        ctx.check()
    with rt.db.session() as s:
        automatic, clerk = split_by_source(s, args.sitting)
        automatic = assign(automatic, turns)
        for seg in clerk:
            seg.speaker_label = assign([seg], turns)[0].speaker_label
        every = sorted(automatic + clerk, key=lambda x: (x.start, x.end))
        propose(every, label_embeddings(turns), load_profiles(s), persons(s))
        for seg in automatic:
            seg.id = None
        store_speakers(s, args.sitting, automatic, clerk)
    log.info("sitting %s: %d speaker turns, %d labels", args.sitting, len(turns), len({t.label for t in turns}))


def run_voice_profile_job(ctx: JobContext) -> None:
    """Embed the segments confirmed for ``person`` in the sitting (each at least
    ``MIN_CONFIRMED_SECONDS`` long) and add them to the person's profile (capped, newest kept)."""
    rt = ctx.runtime
    args: VoiceProfilePayload = ctx.args
    with rt.db.session(readonly=True) as s:
        mine = [seg for seg in working_segments(s, args.sitting)
                if seg.speaker_id == args.person and seg.end - seg.start >= MIN_CONFIRMED_SECONDS]
    if not mine:
        return
    mine = mine[-20:]

    def embed(audio: Audio) -> list[tuple[int | None, np.ndarray, float]]:
        out = []
        for seg in mine:
            wins = windows([(seg.start, seg.end)])
            emb = embed_windows(audio, wins).mean(axis=0)
            out.append((seg.id, emb / max(float(np.linalg.norm(emb)), 1e-12), seg.end - seg.start))
        return out

    embedded = _with_media(ctx, embed)
    with rt.db.session() as s:
        for segment_id, emb, seconds in embedded:
            add_profile(s, args.person, emb, seconds, source="confirmed", segment_id=segment_id)
