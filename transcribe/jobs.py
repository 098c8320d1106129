"""The ``transcribe`` job: the final pass over a recorded sitting, resumable span by span."""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

from sanarip.jobs import JobContext, PermanentFailure
from sanarip.medialayout import delete_working_files, final_pass_key, local_playlist
from sanarip.models import SegmentSource
from sanarip.pipeline import TranscribePayload
from sanarip.sittings import get_sitting
from sanarip.stenogram import Segment
from sanarip.storage import NotFound
from sanarip.subtitles import publish_stenogram
from sanarip.transcripts import replace_automatic
from transcribe.audio import Audio, decoded
from transcribe.engine import Options, Span, plan, span_to_dict, transcribe_audio
from transcribe.models import batch_size, load_model

log = logging.getLogger(__name__)


def run_transcribe_job(ctx: JobContext) -> None:
    """The final pass's ASR stage; the pipeline indexes the result next."""
    rt = ctx.runtime
    args: TranscribePayload = ctx.args
    sitting_id = args.sitting
    with rt.db.session(readonly=True) as s:
        sitting = get_sitting(s, sitting_id)
        committee = sitting.committee
        model_name = args.model or committee.model or rt.settings.model
        options = Options(language=args.language or "auto",
                          fallback_language=committee.fallback_language,
                          span_seconds=rt.settings.transcribe_span_seconds)
    model = load_model(model_name, rt.settings.effective_model_cache, rt.settings.device)
    options.batch_size = batch_size(rt.settings.batch_size, rt.settings.device)
    workdir = Path(tempfile.mkdtemp(prefix="sanarip-final-"))
    try:
        try:
            playlist = local_playlist(rt.storage, sitting_id, workdir)
        except NotFound as exc:
            raise PermanentFailure(str(exc)) from None
        with decoded(str(playlist)) as audio:  # read span by span from a PCM file, never whole
            shutil.rmtree(workdir, ignore_errors=True)  # the media is in the PCM file now
            _transcribe_spans(ctx, model, audio, options)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    spans = ctx.progress["spans"]
    segments: list[Segment] = []
    for i in range(len(spans)):
        rows: list[dict[str, Any]] = json.loads(rt.storage.get_bytes(final_pass_key(sitting_id, i)))
        segments.extend(Segment.from_dict(r) for r in rows)
    with rt.db.session() as s:
        replace_automatic(s, sitting_id, segments, SegmentSource.FINAL)
    with rt.db.session(readonly=True) as s:
        publish_stenogram(rt.storage, s, sitting_id)  # the recorded sitting's subtitle rendition in its HLS
    delete_working_files(rt.storage, sitting_id)  # the checkpoints and the live draft's audio chunks


def _transcribe_spans(ctx: JobContext, model: Any, audio: Audio, options: Options) -> None:
    """Plan once (kept in the job's progress), then transcribe the spans not done yet,
    checkpointing each span's segments in private storage."""
    rt, sitting_id = ctx.runtime, ctx.args.sitting
    if "spans" in ctx.progress:
        spans = [Span(**d) for d in ctx.progress["spans"]]
    else:
        spans = plan(model, audio, options)
        ctx.report(spans=[span_to_dict(sp) for sp in spans], done=0)
    done = int(ctx.progress.get("done", 0))
    log.info("sitting %s: final pass, %d spans, resuming after %d (batches of %d)", sitting_id, len(spans), done,
             options.batch_size)

    def checkpoint(index: int, _spans: list[Span], segments: list[Segment]) -> None:
        rt.storage.put_bytes(final_pass_key(sitting_id, index),
                             json.dumps([sg.to_dict() for sg in segments], ensure_ascii=False).encode())
        ctx.report(done=index + 1)
        ctx.check()

    transcribe_audio(model, audio, options, spans, done, checkpoint)
