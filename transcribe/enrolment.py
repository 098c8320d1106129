"""Voice enrolment from sample recordings: the ``sanarip person enroll`` command and the admins'
enrolment page (through an ``enroll_voice`` job: the web process never decodes media or loads
the encoder) share one check of each sample and one way to embed it.

Every sample is checked before anything is stored: one with no speech, under
``MIN_ENROL_SECONDS`` of speech, or that is not media refuses the whole enrolment with one
error naming the file. Only the embeddings are kept; the job deletes the uploaded audio
whatever the outcome.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np

from sanarip.errors import SanaripError
from sanarip.jobs import JobContext, PermanentFailure
from sanarip.pipeline import EnrolPayload
from sanarip.speakers import add_profile, require_person
from sanarip.storage import NotFound
from transcribe.audio import decoded
from transcribe.diarize import MIN_ENROL_SECONDS, NotEnoughSpeech, embed_speech

log = logging.getLogger(__name__)


class SampleProblem(SanaripError):
    """A sample that cannot characterise a voice: ``code`` is no_speech, too_short or not_media."""

    def __init__(self, code: str, name: str, seconds: float = 0.0, detail: str = "") -> None:
        self.code, self.name, self.seconds = code, name, round(seconds, 1)
        if code == "not_media":
            text = f"not readable media ({detail})" if detail else "not readable media"
        elif code == "no_speech":
            text = f"no speech; a voice sample needs at least {MIN_ENROL_SECONDS:g} s"
        else:
            text = f"only {seconds:.1f} s of speech; a voice sample needs at least {MIN_ENROL_SECONDS:g} s"
        super().__init__(f"{name}: {text}")

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "file": self.name, "seconds": self.seconds, "minimum": MIN_ENROL_SECONDS}


def embed_sample(path: str | Path, name: str) -> tuple[np.ndarray, float]:
    """(embedding, seconds of speech) of one sample file, or :class:`SampleProblem`."""
    try:
        with decoded(str(path)) as audio:
            return embed_speech(audio)
    except NotEnoughSpeech as exc:
        seconds = float(getattr(exc, "seconds", 0.0))
        raise SampleProblem("too_short" if seconds > 0 else "no_speech", name, seconds) from None
    except SampleProblem:
        raise
    except Exception as exc:  # noqa: BLE001 - PyAV raises many kinds for what is not media
        raise SampleProblem("not_media", name, detail=str(exc)[:200]) from None


def run_enrol_job(ctx: JobContext) -> None:
    """The ``enroll_voice`` job: embed the uploaded samples of ``person`` and store the profile,
    all or nothing; the problem (if any) goes to the job's progress for the admin page."""
    rt = ctx.runtime
    args: EnrolPayload = ctx.args
    names = args.names.split("\n")
    workdir = Path(tempfile.mkdtemp(prefix="sanarip-enrol-"))
    try:
        with rt.db.session(readonly=True) as s:
            require_person(s, args.person)
        keys = sorted(rt.storage.list(args.upload))
        if len(keys) != len(names):
            raise PermanentFailure("the uploaded samples are gone (upload them again)")
        samples = []
        for key, name in zip(keys, names, strict=True):
            local = workdir / key.rsplit("/", 1)[-1]
            local.write_bytes(rt.storage.get_bytes(key))
            try:
                samples.append(embed_sample(local, name))
            except SampleProblem as exc:
                ctx.report(problem=exc.as_dict())
                raise PermanentFailure(str(exc)) from None
        with rt.db.session() as s:
            for embedding, seconds in samples:
                add_profile(s, args.person, embedding, seconds)
        ctx.report(stored=len(samples), seconds=round(sum(sec for _e, sec in samples), 1))
    except NotFound as exc:
        raise PermanentFailure(str(exc)) from None
    finally:
        rt.storage.delete_prefix(args.upload)  # the audio is never kept, whatever the outcome
        for f in workdir.iterdir():
            f.unlink()
        workdir.rmdir()
