"""The second ASR backend: CTC acoustic models in ONNX (Kyrgyz fine-tunes of wav2vec2 / XLS-R).

Whisper cannot write Kyrgyz; CTC models fine-tuned on Kyrgyz can. A model folder is what
``optimum-cli export onnx --model <Wav2Vec2ForCTC checkpoint> <folder>`` writes:

* ``model.onnx`` — input: the raw 16 kHz mono waveform, float32 ``[batch, samples]`` (its name is
  read from the model, ``input_values`` in optimum's exports); output: logits ``[batch, frames, vocab]``.
* ``vocab.json`` — ``{"token": id}``; ``|`` (or ``▁`` opening a token) separates words; ``<pad>`` is
  the CTC blank; ``<s>``, ``</s>``, ``<unk>`` and other ``<…>``/``[…]`` tokens are never written.
* ``config.json`` (optional, Hugging Face's) — ``pad_token_id`` (the blank) and ``conv_stride``
  (its product is the samples per output frame: 320 = 20 ms for wav2vec2).
* ``preprocessor_config.json`` (optional) — ``do_normalize``: each window is scaled to zero mean and
  unit variance first, as the model saw in training.

Log-mel input (GigaAM-style exports) is not supported. Decoding is greedy (the best token per
frame, repeats collapsed, blanks dropped); a word's times are the frames of its first and last
letter; half a second of blanks also ends a word. Long audio is cut into windows of equal
length (at most ``WINDOW_SECONDS``) overlapping by ``CONTEXT_SECONDS`` on each side of a cut; each
window contributes only the frames of its middle, so every frame is decided with context on both
sides and no word is cut at a window edge.

Cost (``bench/kyrgyz.py``): the backend's time is the model's inference and little else. The
session gets onnxruntime's own defaults (all graph optimisations, a thread per core), the same
as a bare ``InferenceSession``; a window is normalised in float32 in place (one copy of the
samples); decoding looks at the argmax of every frame but computes a probability only for the
frames whose best token is not the blank, collapses repeats with array operations and visits
letters, not frames, in Python. The overlap recomputes ``2 · CONTEXT_SECONDS`` per cut
(5 % of a long recording with 20 s windows).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sanarip.config import ctc_folder_problem
from sanarip.errors import SanaripError
from transcribe.audio import SAMPLE_RATE

WINDOW_SECONDS = 20.0
CONTEXT_SECONDS = 0.5  # wav2vec2's frames see ±12 ms of audio through the convolutions; the rest is attention
WORD_SEPARATORS = ("|", "▁")
WORD_PAUSE_SECONDS = 0.5  # blank frames this long end a word


class CtcModelError(SanaripError):
    """A CTC model folder that cannot be used; the message names the folder and the problem."""


@dataclass
class CtcWord:
    """A decoded word, shaped like faster-whisper's (``probability``), times in seconds of the input."""

    word: str
    start: float
    end: float
    probability: float


@dataclass
class CtcSegment:
    """A run of words between pauses, shaped like faster-whisper's segments for the shared guards."""

    start: float
    end: float
    text: str
    words: list[CtcWord] = field(default_factory=list)


@dataclass
class CtcModel:
    path: Path
    session: Any  # onnxruntime.InferenceSession
    input_name: str
    tokens: list[str]  # id → token
    blank: int
    stride: int  # samples per output frame
    normalize: bool
    window: int = int(WINDOW_SECONDS * SAMPLE_RATE)  # samples, a multiple of ``stride``
    context: int = int(CONTEXT_SECONDS * SAMPLE_RATE)
    kinds: np.ndarray = field(init=False, repr=False)  # per token id (``token_kinds``)
    letters: list[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.kinds, self.letters = token_kinds(self.tokens)

    def run(self, samples: np.ndarray) -> np.ndarray:
        """Bare inference on one window: logits ``[frames, vocab]``."""
        return self.session.run(None, {self.input_name: self.prepare(samples)[None, :]})[0][0]

    def prepare(self, samples: np.ndarray) -> np.ndarray:
        """The window as the model wants it: contiguous float32, zero mean and unit variance when
        ``do_normalize`` (Hugging Face's ``Wav2Vec2FeatureExtractor``: ``(x - mean) / sqrt(var + 1e-7)``),
        computed with one copy and a BLAS dot product rather than numpy's temporaries."""
        if not self.normalize:
            return np.ascontiguousarray(samples, np.float32)
        x = np.array(samples, np.float32)  # the copy normalised in place
        x -= x.mean(dtype=np.float64)
        x *= 1.0 / np.sqrt(float(np.dot(x, x)) / max(1, len(x)) + 1e-7)
        return x


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (OSError, ValueError) as exc:
        raise CtcModelError(f"{path}: not valid JSON ({exc})") from None


def providers(device: str = "auto") -> list[str]:
    """onnxruntime's CUDA provider when present (and not ``SANARIP_DEVICE=cpu``), else the CPU."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    if device != "cpu" and "CUDAExecutionProvider" in available:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    if device == "cuda":
        raise CtcModelError("SANARIP_DEVICE=cuda but onnxruntime has no CUDA provider (pip install onnxruntime-gpu)")
    return ["CPUExecutionProvider"]


def session_options(threads: int = 0) -> Any:
    """onnxruntime's defaults (all graph optimisations; ``threads=0``: one intra-op thread per
    physical core, which ``os.cpu_count()`` overstates on SMT machines), quiet logs."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        options.intra_op_num_threads = threads
    options.log_severity_level = 3
    return options


def load_ctc_uncached(path: Path, device: str = "auto", threads: int = 0) -> CtcModel:
    """Open a model folder (layout above); CtcModelError in one line when it is not usable."""
    import onnxruntime as ort

    problem = ctc_folder_problem(path)
    if problem:
        raise CtcModelError(problem)
    vocab = _read_json(path / "vocab.json")
    if not vocab or not all(isinstance(i, int) for i in vocab.values()):
        raise CtcModelError(f"{path / 'vocab.json'}: expected {{\"token\": id, …}}")
    tokens = [""] * (max(vocab.values()) + 1)
    for token, i in vocab.items():
        tokens[i] = token
    config = _read_json(path / "config.json")
    pre = _read_json(path / "preprocessor_config.json")
    blank = config.get("pad_token_id", vocab.get("<pad>", vocab.get("[PAD]", 0)))
    if pre.get("sampling_rate", SAMPLE_RATE) != SAMPLE_RATE:
        raise CtcModelError(f"{path}: the model expects {pre['sampling_rate']} Hz audio; only 16000 Hz is supported")
    options = session_options(threads)
    try:
        session = ort.InferenceSession(str(path / "model.onnx"), options, providers=providers(device))
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception kinds
        raise CtcModelError(f"{path / 'model.onnx'}: cannot load ({str(exc).splitlines()[0]})") from None
    inputs = session.get_inputs()
    if len(inputs) != 1 or len(inputs[0].shape) != 2:
        raise CtcModelError(f"{path / 'model.onnx'}: expected one waveform input [batch, samples] "
                            "(log-mel input models are not supported)")
    strides = config.get("conv_stride")
    stride = int(np.prod(strides)) if strides else 0
    model = CtcModel(path, session, inputs[0].name, tokens, int(blank), stride or 320, bool(pre.get("do_normalize")))
    probe = model.run(np.zeros(SAMPLE_RATE, np.float32))
    if probe.ndim != 2 or probe.shape[1] != len(tokens):
        raise CtcModelError(f"{path}: the model's output {probe.shape} does not match vocab.json's "
                            f"{len(tokens)} tokens")
    if not strides:  # no Hugging Face config: the frame length from the probe
        model.stride = max(1, round(SAMPLE_RATE / max(1, probe.shape[0])))
    model.window -= model.window % model.stride
    model.context -= model.context % model.stride
    return model


_loaded: dict[tuple[str, str], CtcModel] = {}
_lock = threading.Lock()


def load_ctc(path: Path, device: str = "auto") -> CtcModel:
    """A CTC model, loaded once per process and shared."""
    key = (str(Path(path).resolve()), device)
    with _lock:
        if key not in _loaded:
            _loaded[key] = load_ctc_uncached(Path(path), device)
        return _loaded[key]


def windows(n_samples: int, model: CtcModel) -> list[tuple[int, int, int, int]]:
    """(window start, window end, first kept sample, end of kept samples) covering ``n_samples``.

    As few windows as fit (each at most ``model.window``), of equal kept lengths in whole frames
    (no short last window: its fixed cost and its thin context), cut ``model.context`` inside
    each neighbour."""
    if n_samples <= 0:
        return []
    c = model.context
    hop = max(model.stride, model.window - 2 * c)
    count = -(-n_samples // max(model.stride, hop - model.stride)) if n_samples > model.window else 1
    frames = -(-n_samples // model.stride)
    cuts = [min(n_samples, round(frames * k / count) * model.stride) for k in range(count + 1)]
    cuts[-1] = n_samples
    return [(max(0, a - c), min(n_samples, b + c), a, b) for a, b in zip(cuts, cuts[1:], strict=False) if b > a]


def frame_logits(model: CtcModel, samples: np.ndarray) -> np.ndarray:
    """Logits ``[frames, vocab]`` of a whole piece, window by window (each keeps its middle's frames)."""
    parts = []
    plan = windows(len(samples), model)
    for k, (a, b, keep_from, keep_to) in enumerate(plan):
        logits = model.run(samples[a:b])
        first = (keep_from - a) // model.stride
        last = logits.shape[0] if k == len(plan) - 1 else (keep_to - a) // model.stride
        parts.append(logits[first:last])
    return np.concatenate(parts) if parts else np.zeros((0, len(model.tokens)), np.float32)


def _writable(token: str) -> bool:
    return bool(token) and not (token[0] in "<[" and token[-1] in ">]" and len(token) > 2)


SKIP, SEPARATOR, LETTER, WORD_START = 0, 1, 2, 3  # what a token does to the text (``token_kinds``)


def token_kinds(tokens: list[str]) -> tuple[np.ndarray, list[str]]:
    """Per token id: its kind (never written, a word separator, a letter, a letter opening a word:
    ``▁x``) and the text it writes, decided once per model rather than once per frame."""
    kinds = np.zeros(len(tokens), np.int8)
    letters = [""] * len(tokens)
    for i, token in enumerate(tokens):
        if token in WORD_SEPARATORS:
            kinds[i] = SEPARATOR
        elif token.startswith("▁"):
            kinds[i] = WORD_START if _writable(token[1:]) else SEPARATOR
            letters[i] = token[1:] if _writable(token[1:]) else ""
        elif _writable(token):
            kinds[i], letters[i] = LETTER, token
    return kinds, letters


def greedy_words(model: CtcModel, logits: np.ndarray, offset: float = 0.0) -> list[CtcWord]:
    """Greedy CTC decoding with word times from the frames (seconds, plus ``offset``).

    All of it is array operations but the words' strings: the best token of every frame; the runs
    of one token held over consecutive frames (one letter); each run's summed softmax probability
    (computed for the non-blank frames only: most frames of speech are blank); words starting at a
    separator, a ``▁`` token or a pause. A word's times are its first letter's first frame and its
    last letter's last frame; its confidence the mean probability over its letters' frames."""
    if not len(logits):
        return []
    best = logits.argmax(axis=1)
    frames = np.flatnonzero(best != model.blank)
    if not len(frames):
        return []
    ids = best[frames]
    rows = logits[frames]
    prob = 1.0 / np.exp(rows - rows[np.arange(len(frames)), ids][:, None]).sum(axis=1)
    starts = np.flatnonzero(np.r_[True, (ids[1:] != ids[:-1]) | (frames[1:] != frames[:-1] + 1)])
    run_ids, t0, t1 = ids[starts], frames[starts], frames[np.r_[starts[1:], len(frames)] - 1]
    run_prob, run_len = np.add.reduceat(prob, starts), np.diff(np.r_[starts, len(frames)])
    kinds = model.kinds[run_ids]
    letter = np.flatnonzero((kinds == LETTER) | (kinds == WORD_START))
    if not len(letter):
        return []
    separators = np.cumsum((kinds == SEPARATOR) | (kinds == WORD_START))  # a ▁ letter counts for itself
    pause_frames = max(1, round(WORD_PAUSE_SECONDS * SAMPLE_RATE / model.stride))
    new_word = np.r_[True, (separators[letter[1:]] != separators[letter[:-1]])
                     | (t0[letter[1:]] - t1[letter[:-1]] > pause_frames)]
    first = np.flatnonzero(new_word)
    last = np.r_[first[1:], len(letter)] - 1
    seconds = model.stride / SAMPLE_RATE
    begin = (offset + t0[letter[first]] * seconds).round(3).tolist()
    end = (offset + (t1[letter[last]] + 1) * seconds).round(3).tolist()
    confidence = (np.add.reduceat(run_prob[letter], first) / np.add.reduceat(run_len[letter], first)).round(3)
    text = model.letters
    written = [text[i] for i in run_ids[letter].tolist()]
    bounds = np.r_[first, len(letter)].tolist()
    return [CtcWord(" " + "".join(written[a:b]), s, e, c)
            for a, b, s, e, c in zip(bounds, bounds[1:], begin, end, confidence.tolist(), strict=False)]


def segments_from_words(words: list[CtcWord], pause: float = 0.6) -> list[CtcSegment]:
    """Words grouped into segments at pauses (CTC output has no punctuation to cut at)."""
    out: list[CtcSegment] = []
    for w in words:
        if out and w.start - out[-1].end < pause:
            seg = out[-1]
            seg.words.append(w)
            seg.end, seg.text = w.end, seg.text + w.word
        else:
            out.append(CtcSegment(w.start, w.end, w.word, [w]))
    for seg in out:
        seg.text = seg.text.strip()
    return out


def transcribe_piece(model: CtcModel, samples: np.ndarray) -> list[CtcSegment]:
    """Segments of one piece of audio, times in seconds from its start."""
    return segments_from_words(greedy_words(model, frame_logits(model, samples)))
