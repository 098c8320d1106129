"""The GE2E speaker encoder of PyPI ``resemblyzer`` 0.1.4, run in NumPy.

The wheel is installed for its weights only (``pip install --no-deps resemblyzer==0.1.4``: its
declared torch/librosa/webrtcvad are never installed). ``pretrained.pt`` is a legacy (pre-zip)
torch pickle of a 3-layer LSTM (40 → 256) and a linear layer (256 → 256); a restricted
unpickler that knows only the few globals such a file names reads it, without torch and
without importing the package. The front end is the package's documented one: a power mel
spectrogram (25 ms Hann window, 10 ms hop, 40 Slaney mel bands, centred with zero padding),
partial utterances of 160 frames (1.6 s), ReLU + L2 norm on the last hidden state, and the
utterance embedding as the L2-normed mean of its partials.
"""

from __future__ import annotations

import os
import pickle
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

SAMPLE_RATE = 16000
N_FFT = 400  # 25 ms
HOP = 160  # 10 ms
N_MELS = 40
PARTIAL_FRAMES = 160  # 1.6 s
EMBEDDING_SIZE = 256
NORM_TARGET_DBFS = -30.0
_INT16_MAX = 2**15 - 1
CHUNK = 64  # windows per LSTM batch: (64, 256) states stay in cache; larger ones measured slower


class WeightsError(RuntimeError):
    """The encoder's weights are missing or not the expected file."""


def weights_path() -> Path:
    """Where the resemblyzer wheel put ``pretrained.pt`` (found from the installed distribution, never imported)."""
    try:  # the distribution's file list: importlib.resources.files() would import the package (and torch)
        path = Path(str(distribution("resemblyzer").locate_file("resemblyzer/pretrained.pt")))
    except PackageNotFoundError:
        path = None
    if path is None or not path.is_file():
        raise WeightsError("speaker encoder weights not found: pip install --no-deps resemblyzer==0.1.4")
    return path


class _StorageRef:
    def __init__(self, key: str, dtype: np.dtype) -> None:
        self.key, self.dtype = key, dtype


class _Tensor:
    def __init__(self, storage: _StorageRef, offset: int, size: tuple[int, ...], stride: tuple[int, ...]) -> None:
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)


def _rebuild_tensor(storage: _StorageRef, offset: int, size: tuple, stride: tuple, *_: Any) -> _Tensor:
    return _Tensor(storage, offset, size, stride)


class _FloatStorage:
    dtype = np.dtype("<f4")


_GLOBALS: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch", "FloatStorage"): _FloatStorage,
}


class _Unpickler(pickle.Unpickler):
    """Only the globals a float32 state dict needs; anything else in the file is refused."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _GLOBALS[(module, name)]
        except KeyError:
            raise WeightsError(f"unexpected object {module}.{name} in the encoder weights") from None

    def persistent_load(self, pid: Any) -> _StorageRef:
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage"):
            raise WeightsError("unexpected persistent id in the encoder weights")
        _tag, storage_type, key, _location, _size = pid[:5]
        return _StorageRef(str(key), storage_type.dtype)


def load_state(path: Path | None = None) -> dict[str, np.ndarray]:
    """The state dict of a legacy torch file as NumPy arrays (magic, protocol, sys info, the
    pickled dict, the storage keys, then each storage as int64 count + raw little-endian data)."""
    path = path or weights_path()
    with open(path, "rb") as fh:
        magic = _Unpickler(fh).load()
        if magic != 0x1950A86A20F9469CFC6C:
            raise WeightsError(f"{path}: not a legacy torch file")
        _Unpickler(fh).load()  # protocol version
        _Unpickler(fh).load()  # sys info
        checkpoint = _Unpickler(fh).load()
        keys = _Unpickler(fh).load()
        raw: dict[str, np.ndarray] = {}
        tensors = checkpoint["model_state"] if "model_state" in checkpoint else checkpoint
        dtypes = {t.storage.key: t.storage.dtype for t in tensors.values()}
        for key in keys:
            count = int(np.frombuffer(fh.read(8), "<i8")[0])
            dtype = dtypes.get(key, np.dtype("<f4"))
            raw[key] = np.frombuffer(fh.read(count * dtype.itemsize), dtype)
    state = {}
    for name, t in tensors.items():
        data = raw[t.storage.key]
        strides = tuple(s * data.itemsize for s in t.stride)
        arr = np.lib.stride_tricks.as_strided(data[t.offset:], shape=t.size, strides=strides)
        state[name] = np.ascontiguousarray(arr, dtype=np.float32)
    return state


@cache
def _mel_filters() -> np.ndarray:
    """Slaney-scale, Slaney-normalised triangular filters (librosa's ``filters.mel`` defaults)."""
    f_sp, min_log_hz, min_log_mel, logstep = 200.0 / 3, 1000.0, 15.0, np.log(6.4) / 27.0

    def hz_to_mel(f: np.ndarray) -> np.ndarray:
        f = np.asanyarray(f, dtype=np.float64)
        return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, 1e-10) / min_log_hz) / logstep, f / f_sp)

    def mel_to_hz(m: np.ndarray) -> np.ndarray:
        return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)

    fft_freqs = np.linspace(0, SAMPLE_RATE / 2, 1 + N_FFT // 2)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(SAMPLE_RATE / 2), N_MELS + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2:N_MELS + 2] - mel_f[:N_MELS]))[:, None]
    return weights.astype(np.float32)


def mel_spectrogram(wav: np.ndarray) -> np.ndarray:
    """(frames, 40) power mel spectrogram, frames centred every 10 ms (not log-compressed)."""
    padded = np.pad(np.asarray(wav, dtype=np.float32), N_FFT // 2)
    n_frames = 1 + (len(padded) - N_FFT) // HOP
    if n_frames < 1:
        return np.zeros((0, N_MELS), np.float32)
    frames = np.lib.stride_tricks.as_strided(
        padded, shape=(n_frames, N_FFT), strides=(padded.strides[0] * HOP, padded.strides[0]))
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)  # periodic Hann
    power = np.abs(np.fft.rfft(frames * window, axis=1)).astype(np.float32) ** 2
    return power @ _mel_filters().T


def volume_gain(energy: float, n: int, target_dbfs: float = NORM_TARGET_DBFS) -> float:
    """The factor that raises (never lowers) ``n`` samples whose squares sum to ``energy`` to
    ``target_dbfs`` RMS, as the package's preprocessing does."""
    if n <= 0 or energy <= 0:
        return 1.0
    rms = float(np.sqrt(energy / n)) * _INT16_MAX
    change = target_dbfs - 20 * np.log10(rms / _INT16_MAX)
    return 1.0 if change < 0 else float(10 ** (change / 20))


def normalize_volume(wav: np.ndarray, target_dbfs: float = NORM_TARGET_DBFS) -> np.ndarray:
    """``wav`` at ``target_dbfs`` RMS when it is quieter (see :func:`volume_gain`)."""
    gain = volume_gain(float(np.sum(wav.astype(np.float64) ** 2)), len(wav), target_dbfs)
    return wav if gain == 1.0 else (wav * gain).astype(np.float32)


def partial_slices(n_samples: int, rate: float = 1.3, min_coverage: float = 0.75) -> list[slice]:
    """Mel-frame slices of the partial utterances covering ``n_samples`` (the package's rule)."""
    n_frames = int(np.ceil((n_samples + 1) / HOP))
    step = int(np.round((SAMPLE_RATE / rate) / HOP))
    if not 0 < step <= PARTIAL_FRAMES:
        raise ValueError(f"partial rate {rate} out of range")
    slices = [slice(i, i + PARTIAL_FRAMES) for i in range(0, max(1, n_frames - PARTIAL_FRAMES + step + 1), step)]
    last = slices[-1]
    coverage = (n_samples - last.start * HOP) / (PARTIAL_FRAMES * HOP)
    if coverage < min_coverage and len(slices) > 1:
        slices.pop()
    return slices


class VoiceEncoder:
    """256-dim speaker embeddings (non-negative, L2-normed) from 16 kHz mono float32 audio.

    The LSTM runs many windows at once, time-major, in float32: per step one (batch, 256) ×
    (256, 1024) product and a few in-place element-wise passes (the gates are reordered to
    input, forget, output, cell so that the three sigmoids are one ``tanh`` over a contiguous
    block; σ(x) = (1 + tanh(x/2)) / 2). Batches of :data:`CHUNK` windows are spread over the
    process's cores by threads of its own, with BLAS on one thread: OpenBLAS threading these
    small products spins on a busy machine (measured: 4–10x slower with two BLAS threads on a
    loaded 2-core machine).
    """

    def __init__(self, state: dict[str, np.ndarray] | None = None) -> None:
        state = state or load_state()
        h = state["lstm.weight_hh_l0"].shape[1]
        order = np.r_[0:2 * h, 3 * h:4 * h, 2 * h:3 * h]  # torch's i, f, g, o → i, f, o, g
        self.layers = []
        for k in range(3):
            w_ih, w_hh = state[f"lstm.weight_ih_l{k}"], state[f"lstm.weight_hh_l{k}"]
            bias = state[f"lstm.bias_ih_l{k}"] + state[f"lstm.bias_hh_l{k}"]
            self.layers.append((np.ascontiguousarray(w_ih.T[:, order]), np.ascontiguousarray(w_hh.T[:, order]),
                                np.ascontiguousarray(bias[order])))
        self.linear_w = np.ascontiguousarray(state["linear.weight"].T)
        self.linear_b = state["linear.bias"]

    def embed_mels(self, mels: np.ndarray) -> np.ndarray:
        """(batch, frames, 40) mel partials → (batch, 256) embeddings."""
        x = np.asarray(mels, dtype=np.float32)
        if len(x) == 0:
            return np.zeros((0, EMBEDDING_SIZE), np.float32)
        chunks = [x[i:i + CHUNK] for i in range(0, len(x), CHUNK)]
        threads = min(cores(), len(chunks))
        with threadpool_limits(1, user_api="blas"):
            if threads == 1:
                return np.concatenate([self._embed_chunk(c) for c in chunks])
            with ThreadPoolExecutor(threads) as pool:
                return np.concatenate(list(pool.map(self._embed_chunk, chunks)))

    def _embed_chunk(self, mels: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(mels.transpose(1, 0, 2))  # (steps, batch, features)
        steps, batch, _ = x.shape
        for k, (w_ih, w_hh, bias) in enumerate(self.layers):
            n = w_hh.shape[0]
            gates_in = (x.reshape(steps * batch, -1) @ w_ih).reshape(steps, batch, 4 * n)
            gates_in += bias
            h = np.zeros((batch, n), np.float32)
            c = np.zeros((batch, n), np.float32)
            g = np.empty((batch, 4 * n), np.float32)
            tmp = np.empty((batch, n), np.float32)
            sig, cell = g[:, :3 * n], g[:, 3 * n:]
            i, f, o = sig[:, :n], sig[:, n:2 * n], sig[:, 2 * n:]
            out = np.empty((steps, batch, n), np.float32) if k + 1 < len(self.layers) else None
            for t in range(steps):
                np.matmul(h, w_hh, out=g)
                g += gates_in[t]
                sig *= 0.5
                np.tanh(sig, out=sig)
                sig *= 0.5
                sig += 0.5
                np.tanh(cell, out=cell)
                c *= f
                np.multiply(i, cell, out=tmp)
                c += tmp
                np.tanh(c, out=h)
                h *= o
                if out is not None:
                    out[t] = h
            x = out
        raw = np.maximum(h @ self.linear_w + self.linear_b, 0.0)
        return raw / np.maximum(np.linalg.norm(raw, axis=1, keepdims=True), 1e-12)

    def embed_partials(self, wav: np.ndarray, rate: float = 1.3, min_coverage: float = 0.75) -> np.ndarray:
        """Embeddings of the partial utterances of ``wav`` (padded with zeros to the last one)."""
        slices = partial_slices(len(wav), rate, min_coverage)
        need = slices[-1].stop * HOP
        if need >= len(wav):
            wav = np.pad(wav, (0, need - len(wav)))
        mel = mel_spectrogram(wav)
        return self.embed_mels(np.stack([mel[s] for s in slices]))

    def embed_utterance(self, wav: np.ndarray, rate: float = 1.3, min_coverage: float = 0.75) -> np.ndarray:
        """One utterance's embedding: the L2-normed mean of its partials' embeddings."""
        mean = self.embed_partials(wav, rate, min_coverage).mean(axis=0)
        return mean / max(float(np.linalg.norm(mean)), 1e-12)


@cache
def encoder() -> VoiceEncoder:
    """The process's one encoder (the weights are read once)."""
    return VoiceEncoder()


def cores() -> int:
    """The cores this process may run on (its affinity, not the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)
