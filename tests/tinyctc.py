"""A tiny CTC model in ONNX, built with the ``onnx`` package, and audio it can "hear".

The model is a strided convolution: every 20 ms frame (320 samples) of the waveform is
correlated with a sine and a cosine per letter (and per word separator ``|``), at an integer
number of cycles per frame, so the frequencies are orthogonal; the blank wins unless one
frequency carries enough energy. ``speak("сал мага")``
writes each letter as a tone burst and a short silence between letters, and a longer one
between words, so the model spells back exactly that text with known frame times.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16000
FRAME = 320
LETTERS = list("абвгдеёжзийклмнопрстуфхцчшщъыьэюяңөү")
LETTER_FRAMES = 2  # a letter's tone lasts two frames, so a shifted grid still sees one whole
BLANK_FRAMES = 2  # silence between letters, frames
WORD_GAP_FRAMES = 10  # silence between words, frames
THRESHOLD = 300.0  # energy: a full frame of a 0.2 tone scores (0.2 · 160)² = 1024


def tokens() -> list[str]:
    return ["<pad>", "<s>", "</s>", "<unk>", "|", *LETTERS]


def _template(k: int, phase: float = 0.0) -> np.ndarray:
    t = np.arange(FRAME)
    return np.sin(2 * np.pi * (k + 3) * t / FRAME + phase).astype(np.float32)  # k + 3 cycles per frame


def _index(token: str) -> int:
    return len(LETTERS) if token == "|" else LETTERS.index(token)


def build(folder: Path, with_config: bool = True) -> Path:
    """Write model.onnx, vocab.json (and config.json, preprocessor_config.json) into ``folder``.

    Per frame: the energy of each template's frequency (sine and cosine correlations squared, so a
    lossy codec's delay shifting the phase changes nothing), minus a threshold; the blank scores 0.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    folder.mkdir(parents=True, exist_ok=True)
    vocab = tokens()
    n = len(LETTERS) + 1
    analysis = np.zeros((2 * n, 1, FRAME), np.float32)
    for k in range(n):
        analysis[2 * k, 0], analysis[2 * k + 1, 0] = _template(k), _template(k, np.pi / 2)
    combine = np.zeros((len(vocab), 2 * n, 1), np.float32)
    bias = np.zeros(len(vocab), np.float32)
    for i, token in enumerate(vocab):
        if token in LETTERS or token == "|":
            combine[i, 2 * _index(token), 0] = combine[i, 2 * _index(token) + 1, 0] = 1.0
            bias[i] = -THRESHOLD
        elif i != 0:
            bias[i] = -1e9  # never emitted
    nodes = [
        helper.make_node("Unsqueeze", ["input_values", "axis1"], ["x3"]),
        helper.make_node("Conv", ["x3", "A"], ["corr"], kernel_shape=[FRAME], strides=[FRAME]),
        helper.make_node("Mul", ["corr", "corr"], ["energy"]),
        helper.make_node("Conv", ["energy", "C", "B"], ["scores"], kernel_shape=[1]),
        helper.make_node("Transpose", ["scores"], ["logits"], perm=[0, 2, 1]),
    ]
    graph = helper.make_graph(
        nodes, "tiny_ctc",
        [helper.make_tensor_value_info("input_values", TensorProto.FLOAT, ["batch", "samples"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", "frames", len(vocab)])],
        [numpy_helper.from_array(analysis, "A"), numpy_helper.from_array(combine, "C"),
         numpy_helper.from_array(bias, "B"), numpy_helper.from_array(np.array([1], np.int64), "axis1")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(folder / "model.onnx"))
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}, ensure_ascii=False))
    if with_config:
        (folder / "config.json").write_text(json.dumps({"pad_token_id": 0, "conv_stride": [5, 4, 4, 4]}))
        (folder / "preprocessor_config.json").write_text(json.dumps({"do_normalize": False, "sampling_rate": 16000}))
    return folder


def speak(text: str, amplitude: float = 0.3, lead_frames: int = 0) -> tuple[np.ndarray, list[tuple[str, float, float]]]:
    """Audio the tiny model spells as ``text``, and each word's (word, start, end) in seconds."""
    frames: list[np.ndarray] = [np.zeros(FRAME, np.float32)] * lead_frames
    times: list[tuple[str, float, float]] = []
    for w, word in enumerate(text.split()):
        if w:  # silence, the word separator's tone, silence (wav2vec2 models emit "|" between words)
            half = [np.zeros(FRAME, np.float32)] * (WORD_GAP_FRAMES // 2)
            frames += half + [amplitude * _template(_index("|"))] * LETTER_FRAMES + half
        start = len(frames)
        for i, letter in enumerate(word):
            if i:
                frames += [np.zeros(FRAME, np.float32)] * BLANK_FRAMES
            frames += [amplitude * _template(_index(letter))] * LETTER_FRAMES
        times.append((word, start * FRAME / SAMPLE_RATE, len(frames) * FRAME / SAMPLE_RATE))
    frames += [np.zeros(FRAME, np.float32)] * WORD_GAP_FRAMES
    return np.concatenate(frames), times
