"""The NumPy GE2E encoder against reference embeddings of resemblyzer's own torch code
(tests/fixtures/resemblyzer_reference.json, computed once by scripts/resemblyzer_reference.py)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import unavailable
from transcribe import voice

FIXTURE = Path(__file__).parent / "fixtures" / "resemblyzer_reference.json"


@pytest.fixture(scope="module")
def encoder():
    try:
        return voice.VoiceEncoder()
    except voice.WeightsError as exc:
        unavailable(str(exc))


@pytest.fixture(scope="module")
def reference():
    return json.loads(FIXTURE.read_text())


def _wav(testdata, item):
    from faster_whisper import decode_audio

    return voice.normalize_volume(decode_audio(str(testdata / "speakers" / item["file"]))[:6 * 16000])


def test_the_port_agrees_with_the_reference(encoder, reference, testdata):
    for item in reference["items"]:
        wav = _wav(testdata, item)
        assert np.abs(encoder.embed_utterance(wav) - np.array(item["embedding"])).max() < 1e-5, item["file"]
        assert np.abs(encoder.embed_partials(wav) - np.array(item["partials"])).max() < 1e-5, item["file"]
        mel = voice.mel_spectrogram(wav[:16000])
        assert np.allclose(mel[10], item["mel_first_second_row10"], rtol=1e-4, atol=1e-6)


def test_same_voice_is_closer_than_another(encoder, reference, testdata):
    items = {i["file"].split("/")[0]: np.array(i["embedding"]) for i in reference["items"]}
    ours = encoder.embed_utterance(_wav(testdata, reference["items"][0]))
    assert ours @ items["ru_vf_pgp"] > max(ours @ v for k, v in items.items() if k != "ru_vf_pgp")


def test_weights_are_read_without_torch_or_the_package():
    code = ("import sys; from transcribe.voice import load_state; s = load_state(); "
            "assert 'torch' not in sys.modules and 'resemblyzer' not in sys.modules; "
            "print(s['lstm.weight_ih_l0'].shape, s['linear.weight'].shape)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if "weights not found" in out.stderr:
        unavailable("resemblyzer weights not installed")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "(1024, 40) (256, 256)"


def test_the_unpickler_refuses_other_objects(tmp_path):
    import pickle

    bad = tmp_path / "evil.pt"
    with open(bad, "wb") as fh:
        pickle.dump(0x1950A86A20F9469CFC6C, fh, protocol=2)
        pickle.dump(1001, fh, protocol=2)
        pickle.dump({}, fh, protocol=2)
        fh.write(b"\x80\x02cos\nsystem\nq\x00X\x04\x00\x00\x00trueq\x01\x85q\x02Rq\x03.")
    with pytest.raises(voice.WeightsError, match="unexpected object os.system"):
        voice.load_state(bad)
