"""A CTC model in ONNX shaped like a small wav2vec2, built with the ``onnx`` package (random weights).

It hears nothing: its purpose is compute. The tiny model of ``tests/tinyctc.py`` is one strided
convolution, so a 20 s window costs it about half a millisecond and any per-window Python cost of
the backend looks large against it; this one costs what a real model of its size costs, so
``bench/kyrgyz.py`` measures the backend's overhead against real inference. The graph follows
wav2vec2's layout, as ``optimum-cli export onnx`` writes it for ``Wav2Vec2ForCTC``:

* input ``input_values`` ``[batch, samples]`` (16 kHz), output ``logits`` ``[batch, frames, vocab]``;
* a feature encoder of seven convolutions without padding (kernels 10, 3, 3, 3, 3, 2, 2, strides
  5, 2, 2, 2, 2, 2, 2: one frame per 320 samples, ``(n - 400) // 320 + 1`` frames, as wav2vec2);
* a projection, ``layers`` pre-norm transformer layers (multi-head self-attention over the whole
  window, a ReLU feed-forward of 4× the width), a layer norm and the vocabulary projection, whose
  blank bias makes most frames blank, as in speech.

The vocabulary is the tiny model's, so ``config.json`` and ``vocab.json`` are what a real export holds.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tests.tinyctc import tokens

KERNELS = (10, 3, 3, 3, 3, 2, 2)
STRIDES = (5, 2, 2, 2, 2, 2, 2)
BLANK_BIAS = 2.2  # logits are about N(0, 1) after the last norm: the blank wins most frames


def build(folder: Path, conv: int = 128, width: int = 256, layers: int = 4, heads: int = 4,
          seed: int = 0) -> Path:
    """Write model.onnx, vocab.json, config.json and preprocessor_config.json into ``folder``."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    vocab = tokens()
    inits: list = []
    nodes: list = []

    def weight(name: str, shape: tuple[int, ...], fan_in: int) -> str:
        inits.append(numpy_helper.from_array((rng.standard_normal(shape) / np.sqrt(fan_in)).astype(np.float32), name))
        return name

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(value, name))
        return name

    def node(op: str, inputs: list[str], output: str, **attrs) -> str:
        nodes.append(helper.make_node(op, inputs, [output], **attrs))
        return output

    def layer_norm(x: str, name: str, dim: int) -> str:
        return node("LayerNormalization", [x, const(f"{name}.g", np.ones(dim, np.float32)),
                                           const(f"{name}.b", np.zeros(dim, np.float32))], f"{name}.out", axis=-1)

    x = node("Unsqueeze", ["input_values", const("axis1", np.array([1], np.int64))], "wave")
    channels = 1
    for i, (k, s) in enumerate(zip(KERNELS, STRIDES, strict=True)):
        x = node("Conv", [x, weight(f"conv{i}.w", (conv, channels, k), channels * k)], f"conv{i}",
                 kernel_shape=[k], strides=[s])
        x = node("Relu", [x], f"conv{i}.relu")
        channels = conv
    x = node("Transpose", [x], "features", perm=[0, 2, 1])  # [batch, frames, conv]
    x = layer_norm(x, "features.norm", conv)
    x = node("MatMul", [x, weight("project.w", (conv, width), conv)], "hidden0")
    dh = width // heads
    split = const("heads", np.array([0, 0, heads, dh], np.int64))
    merge = const("merge", np.array([0, 0, width], np.int64))
    scale = const("scale", np.array(1 / np.sqrt(dh), np.float32))
    for n in range(layers):
        p = f"layer{n}"
        h = layer_norm(x, f"{p}.norm1", width)
        qkv = []
        for part in "qkv":
            t = node("MatMul", [h, weight(f"{p}.{part}.w", (width, width), width)], f"{p}.{part}")
            t = node("Reshape", [t, split], f"{p}.{part}.heads")
            qkv.append(node("Transpose", [t], f"{p}.{part}.t", perm=[0, 2, 3, 1] if part == "k" else [0, 2, 1, 3]))
        scores = node("Mul", [node("MatMul", [qkv[0], qkv[1]], f"{p}.qk"), scale], f"{p}.scores")
        attn = node("MatMul", [node("Softmax", [scores], f"{p}.attn", axis=-1), qkv[2]], f"{p}.ctx")
        attn = node("Reshape", [node("Transpose", [attn], f"{p}.ctx.t", perm=[0, 2, 1, 3]), merge], f"{p}.ctx.m")
        x = node("Add", [x, node("MatMul", [attn, weight(f"{p}.o.w", (width, width), width)], f"{p}.o")], f"{p}.res1")
        h = layer_norm(x, f"{p}.norm2", width)
        h = node("Relu", [node("MatMul", [h, weight(f"{p}.ff1.w", (width, 4 * width), width)], f"{p}.ff1")],
                 f"{p}.ff1.relu")
        x = node("Add", [x, node("MatMul", [h, weight(f"{p}.ff2.w", (4 * width, width), 4 * width)], f"{p}.ff2")],
                 f"{p}.res2")
    x = layer_norm(x, "final.norm", width)
    bias = np.zeros(len(vocab), np.float32)
    bias[0] = BLANK_BIAS
    bias[1:4] = -1e9  # <s>, </s>, <unk>: never emitted
    logits = node("MatMul", [x, weight("lm_head.w", (width, len(vocab)), width)], "lm_head")
    nodes.append(helper.make_node("Add", [logits, const("lm_head.b", bias)], ["logits"]))
    graph = helper.make_graph(
        nodes, "w2v_like_ctc",
        [helper.make_tensor_value_info("input_values", TensorProto.FLOAT, ["batch", "samples"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", "frames", len(vocab)])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    folder.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(folder / "model.onnx"))
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}, ensure_ascii=False))
    (folder / "config.json").write_text(json.dumps({"pad_token_id": 0, "conv_stride": list(STRIDES)}))
    (folder / "preprocessor_config.json").write_text(json.dumps({"do_normalize": True, "sampling_rate": 16000}))
    return folder


def parameters(folder: Path) -> int:
    """The number of weights in ``folder``'s model (for the bench's description of it)."""
    import onnx

    return sum(int(np.prod(t.dims)) for t in onnx.load(str(folder / "model.onnx")).graph.initializer)
