"""A simulated committee livestream for the demo and end-to-end tests.

Speech in Russian and English is synthesized with eSpeak NG (the ``espeakng-loader`` wheel
carries the library and its data; we call it through ctypes), laid over a test-pattern video,
and published in real time by ffmpeg as a live HLS stream served on 127.0.0.1. Nothing is
fetched from the network.
"""

from __future__ import annotations

import ctypes
import functools
import http.server
import socket
import subprocess
import threading
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ingest.media import ffmpeg_exe

SCRIPT: list[tuple[str, str]] = [
    ("ru", "Уважаемые депутаты, заседание комитета по бюджету объявляется открытым."),
    ("ru", "На повестке дня проект республиканского бюджета на следующий год."),
    ("en", "Our guests from the international delegation will now present their report."),
    ("en", "The committee thanks the ministry of finance for the detailed figures."),
    ("ru", "Слово предоставляется министру финансов. Пожалуйста, вам десять минут."),
    ("ru", "Расходы на образование и здравоохранение увеличены на пятнадцать процентов."),
    ("en", "We recommend that the parliament approves the budget in the first reading."),
    ("ru", "Вопросы к докладчику? Нет вопросов. Переходим к голосованию."),
]
_SYNTH_LOCK = threading.Lock()
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


@functools.lru_cache(maxsize=1)
def _espeak():
    import espeakng_loader

    lib = ctypes.cdll.LoadLibrary(str(espeakng_loader.get_library_path()))
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    rate = lib.espeak_Initialize(0x02, 0, str(espeakng_loader.get_data_path()).encode(), 0)  # synchronous
    if rate <= 0:
        raise RuntimeError("eSpeak NG failed to initialise")
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
                                 ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    return lib, rate


def synthesize(text: str, language: str, words_per_minute: int = 150) -> tuple[np.ndarray, int]:
    """Speech for ``text`` as int16 samples and the sample rate."""
    lib, rate = _espeak()
    chunks: list[np.ndarray] = []

    @_CALLBACK
    def collect(wav, n, _events):
        if n > 0:
            chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        return 0

    data = text.encode()
    with _SYNTH_LOCK:
        lib.espeak_SetSynthCallback(collect)
        if lib.espeak_SetVoiceByName(language.encode()) != 0:
            raise ValueError(f"eSpeak NG has no voice {language!r}")
        lib.espeak_SetParameter(1, words_per_minute, 0)  # espeakRATE
        lib.espeak_Synth(data, len(data) + 1, 0, 0, 0, 1, None, None)  # espeakCHARS_UTF8
        lib.espeak_Synchronize()
    return (np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)), rate


def write_speech(path: Path, script: list[tuple[str, str]] = SCRIPT, pause: float = 1.2,
                 lead_in: float = 1.0) -> list[tuple[float, float, str, str]]:
    """A WAV of the script with pauses; returns (start, end, language, text) per line."""
    pieces, timeline, cursor, rate = [], [], lead_in, 22050
    for language, text in script:
        samples, rate = synthesize(text, language)
        if not pieces:
            pieces.append(np.zeros(int(lead_in * rate), dtype=np.int16))
        timeline.append((round(cursor, 3), round(cursor + len(samples) / rate, 3), language, text))
        pieces += [samples, np.zeros(int(pause * rate), dtype=np.int16)]
        cursor += len(samples) / rate + pause
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(np.concatenate(pieces).tobytes())
    return timeline


def make_sitting_video(speech: Path, out: Path, size: str = "640x360", fps: int = 25) -> Path:
    """H.264/AAC MP4 of a test pattern with a clock, the speech as sound, 2 s keyframes."""
    subprocess.run([
        ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-i", str(speech),
        "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={fps}",
        "-map", "1:v", "-map", "0:a", "-shortest", "-c:v", "libx264", "-preset", "veryfast",
        "-g", str(2 * fps), "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k", "-ar", "44100", str(out),
    ], check=True)
    return out


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def publish_hls(video: Path, folder: Path, segment: float = 2.0) -> Iterator[tuple[str, subprocess.Popen]]:
    """Publish ``video`` once, in real time, as live HLS served on 127.0.0.1; yields (URL, ffmpeg)."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*"):
        old.unlink()
    port = _free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port),
                                             functools.partial(_Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    proc = subprocess.Popen([
        ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-re", "-i", str(video), "-c", "copy",
        "-f", "hls", "-hls_time", str(segment), "-hls_list_size", "10",
        "-hls_flags", "program_date_time+omit_endlist+temp_file", str(folder / "live.m3u8"),
    ], stdin=subprocess.DEVNULL)
    try:
        yield f"http://127.0.0.1:{port}/live.m3u8", proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(10)
        server.shutdown()
        server.server_close()
