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
letter; half a second of blanks also ends a word. Long audio is cut into windows overlapping
by ``CONTEXT_SECONDS`` on each side; each window contributes only the frames of its middle,
so every frame is decided with context on both sides and no word is cut at a window edge.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sanarip.config import ctc_folder_problem
from sanarip.errors import SanaripError
from transcribe.audio import SAMPLE_RATE

WINDOW_SECONDS = 20.0
CONTEXT_SECONDS = 1.0
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

    def run(self, samples: np.ndarray) -> np.ndarray:
        """Bare inference on one window: logits ``[frames, vocab]``."""
        x = samples.astype(np.float32, copy=False)
        if self.normalize:
            x = (x - x.mean()) / np.sqrt(x.var() + 1e-7)
        return self.session.run(None, {self.input_name: x[None, :]})[0][0]


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
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or os.cpu_count() or 1
    options.log_severity_level = 3
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
    """(window start, window end, first kept sample, end of kept samples) covering ``n_samples``."""
    hop = max(model.stride, model.window - 2 * model.context)
    out, pos = [], 0
    while pos < n_samples:
        keep_to = min(n_samples, pos + hop)
        out.append((max(0, pos - model.context), min(n_samples, keep_to + model.context), pos, keep_to))
        pos = keep_to
    return out


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


def greedy_words(model: CtcModel, logits: np.ndarray, offset: float = 0.0) -> list[CtcWord]:
    """Greedy CTC decoding with word times from the frames (seconds, plus ``offset``).

    Only the frames whose best token is not the blank are visited (most frames of speech are
    blank); a word's confidence is the mean softmax probability of its letters' best tokens,
    computed for all non-blank frames in one array operation."""
    if not len(logits):
        return []
    best = logits.argmax(axis=1)
    seconds = model.stride / SAMPLE_RATE
    words: list[CtcWord] = []
    letters: list[str] = []
    frames: list[int] = []  # every frame of the word's letters, repeats included

    nonblank = np.flatnonzero(best != model.blank)
    rows = logits[nonblank]
    confidence = np.zeros(len(best), np.float32)
    confidence[nonblank] = 1.0 / np.exp(rows - rows.max(axis=1, keepdims=True)).sum(axis=1)
    conf = confidence.tolist()

    def close() -> None:
        if letters:
            words.append(CtcWord(" " + "".join(letters), round(offset + frames[0] * seconds, 3),
                                 round(offset + (frames[-1] + 1) * seconds, 3),
                                 round(sum(conf[f] for f in frames) / len(frames), 3)))
        letters.clear()
        frames.clear()

    pause_frames = max(1, round(WORD_PAUSE_SECONDS / seconds))
    previous, last = -1, -2
    for t, token_id in zip(nonblank.tolist(), best[nonblank].tolist(), strict=True):
        if token_id == previous and t == last + 1:  # the same token held: one letter, lasting to this frame
            if frames and frames[-1] == last:
                frames.append(t)
            last = t
            continue
        previous, last = token_id, t
        if frames and t - frames[-1] > pause_frames:  # a pause ends a word even without a separator
            close()
        token = model.tokens[token_id] if token_id < len(model.tokens) else ""
        if token in WORD_SEPARATORS:
            close()
            continue
        if token.startswith("▁"):
            close()
            token = token[1:]
        if _writable(token):
            letters.append(token)
            frames.append(t)
    close()
    return words


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
