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
from sanarip.transcripts import replace_automatic
from transcribe.engine import Options, Span, decode, plan, span_to_dict, transcribe_audio
from transcribe.models import load_model

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
    model = load_model(model_name, rt.settings.data_dir / "models", rt.settings.device)
    workdir = Path(tempfile.mkdtemp(prefix="sanarip-final-"))
    try:
        audio = decode(str(local_playlist(rt.storage, sitting_id, workdir)))
    except NotFound as exc:
        raise PermanentFailure(str(exc)) from None
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if "spans" in ctx.progress:
        spans = [Span(**d) for d in ctx.progress["spans"]]
    else:
        spans = plan(model, audio, options)
        ctx.report(spans=[span_to_dict(sp) for sp in spans], done=0)
    done = int(ctx.progress.get("done", 0))
    log.info("sitting %s: final pass, %d spans, resuming after %d", sitting_id, len(spans), done)

    def checkpoint(index: int, _spans: list[Span], segments: list[Segment]) -> None:
        rt.storage.put_bytes(final_pass_key(sitting_id, index),
                             json.dumps([sg.to_dict() for sg in segments], ensure_ascii=False).encode())
        ctx.report(done=index + 1)
        ctx.check()

    transcribe_audio(model, audio, options, spans, done, checkpoint)
    segments: list[Segment] = []
    for i in range(len(spans)):
        rows: list[dict[str, Any]] = json.loads(rt.storage.get_bytes(final_pass_key(sitting_id, i)))
        segments.extend(Segment.from_dict(r) for r in rows)
    with rt.db.session() as s:
        replace_automatic(s, sitting_id, segments, SegmentSource.FINAL)
    delete_working_files(rt.storage, sitting_id)  # the checkpoints and the live draft's audio chunks
