"""One contract, two backends: a local folder and S3 over real HTTP (versitygw's posix backend)."""

import os
import threading
import uuid

import pytest

from sanarip.storage import MIN_PART_SIZE, LocalStorage, NotFound, S3Storage, StorageError


def new_bucket(endpoint: str, **kwargs) -> S3Storage:
    bucket = f"b{uuid.uuid4().hex[:12]}"
    store = S3Storage(bucket, "archive/v1", endpoint_url=endpoint, **kwargs)
    store.client.create_bucket(Bucket=bucket)
    return store


@pytest.fixture(params=["local", "s3"])
def storage(request, tmp_path):
    if request.param == "local":
        return LocalStorage(tmp_path / "media")
    return new_bucket(request.getfixturevalue("s3_endpoint"))


def test_put_get_size_list_delete(storage, tmp_path):
    storage.put_bytes("sittings/1/a.ts", b"hello")
    src = tmp_path / "f.bin"
    src.write_bytes(bytes(range(256)) * 4000)
    storage.put_file("sittings/1/b.ts", src)
    storage.put_bytes("sittings/2/c.ts", b"x")
    assert storage.get_bytes("sittings/1/a.ts") == b"hello"
    assert storage.size("sittings/1/b.ts") == 1_024_000
    assert storage.get_bytes("sittings/1/b.ts") == src.read_bytes()
    assert storage.list("sittings/1") == ["sittings/1/a.ts", "sittings/1/b.ts"]
    assert len(storage.list()) == 3
    assert storage.list("sittings/1/b") == ["sittings/1/b.ts"]
    assert storage.list("sittings/3") == []
    storage.delete("sittings/1/a.ts")
    storage.delete("sittings/1/a.ts")  # absent: ignored
    assert not storage.exists("sittings/1/a.ts")
    with pytest.raises(NotFound):
        storage.size("sittings/1/a.ts")
    with pytest.raises(NotFound):
        storage.get_bytes("nope/x.ts")


def test_range_reads(storage):
    data = bytes(i % 251 for i in range(700_000))
    storage.put_bytes("r.bin", data)
    assert b"".join(storage.read_range("r.bin", 0, 0)) == data[:1]
    assert b"".join(storage.read_range("r.bin", 1000, 299_999)) == data[1000:300_000]
    assert b"".join(storage.read_range("r.bin", 699_990)) == data[699_990:]


def test_atomic_replace_never_shows_partial_object(storage):
    old, new = b"A" * 2_000_000, b"B" * 2_000_000
    storage.put_bytes("p.ts", old)
    seen: set[bytes] = set()
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            body = storage.get_bytes("p.ts")
            seen.add(body[:1] + body[-1:] + str(len(body)).encode())

    t = threading.Thread(target=reader)
    t.start()
    for i in range(6):
        storage.put_bytes("p.ts", new if i % 2 == 0 else old)
    stop.set()
    t.join()
    assert seen <= {b"AA2000000", b"BB2000000"}


@pytest.mark.parametrize("key", ["../x", "a/../../x", "/etc/passwd", "a\\b", "", "a\x00b", "a/../.."])
def test_unsafe_keys_refused(storage, key):
    with pytest.raises(StorageError):
        storage.put_bytes(key, b"x")


def test_media_url(storage):
    storage.put_bytes("m/seg.ts", b"x")
    url = storage.media_url("m/seg.ts")
    if isinstance(storage, S3Storage):
        import urllib.request

        assert "Signature" in url or "X-Amz-Signature" in url
        assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in url  # SigV4: versitygw refuses the legacy signature
        with urllib.request.urlopen(url) as resp:
            assert resp.read() == b"x"
    else:
        assert url is None


def test_unreachable_s3_is_storage_error():
    store = S3Storage("bucket", endpoint_url="http://127.0.0.1:1")
    with pytest.raises(StorageError):
        store.check()


def test_delete_prefix_removes_only_that_folder(storage):
    for key in ("work/sittings/5/audio/chunk_000000_000000000000.wav", "work/sittings/5/final-pass/span_00000.json",
                "work/sittings/50/audio/chunk_000000_000000000000.wav", "sittings/5/index.m3u8"):
        storage.put_bytes(key, b"x")
    assert storage.delete_prefix("work/sittings/5/") == 2
    assert storage.list("work/") == ["work/sittings/50/audio/chunk_000000_000000000000.wav"]  # not "5" + "0"
    assert storage.exists("sittings/5/index.m3u8")
    assert storage.delete_prefix("work/sittings/5/") == 0
    if isinstance(storage, LocalStorage):  # no empty folders left behind
        assert not (storage.root / "work" / "sittings" / "5").exists()
    with pytest.raises(StorageError):
        storage.delete_prefix("")


def test_large_file_goes_up_in_parts(s3_endpoint, tmp_path):
    """Above the threshold put_file is a multipart upload (its ETag counts the parts), read back byte-exact."""
    store = new_bucket(s3_endpoint, multipart_threshold=MIN_PART_SIZE)
    big, small = tmp_path / "big.bin", tmp_path / "small.bin"
    big.write_bytes(os.urandom(12 * 1024 * 1024))  # parts of 5, 5 and 2 MiB
    small.write_bytes(os.urandom(MIN_PART_SIZE - 1))
    store.put_file("sittings/7/source.mp4", big, content_type="video/mp4")
    store.put_file("sittings/7/small.bin", small)
    head = store.client.head_object(Bucket=store.bucket, Key="archive/v1/sittings/7/source.mp4")
    assert head["ETag"].strip('"').endswith("-3") and head["ContentType"] == "video/mp4"
    assert "-" not in store.client.head_object(Bucket=store.bucket, Key="archive/v1/sittings/7/small.bin")["ETag"]
    assert store.size("sittings/7/source.mp4") == big.stat().st_size
    assert store.get_bytes("sittings/7/source.mp4") == big.read_bytes()
    assert b"".join(store.read_range("sittings/7/source.mp4", MIN_PART_SIZE - 10, MIN_PART_SIZE + 9)) == \
        big.read_bytes()[MIN_PART_SIZE - 10:MIN_PART_SIZE + 10]  # across a part boundary
    assert store.get_bytes("sittings/7/small.bin") == small.read_bytes()
    assert not store.client.list_multipart_uploads(Bucket=store.bucket).get("Uploads")  # none left open


def test_failed_upload_is_storage_error(s3_endpoint, tmp_path):
    store = S3Storage(f"missing{uuid.uuid4().hex[:8]}", endpoint_url=s3_endpoint, multipart_threshold=MIN_PART_SIZE)
    src = tmp_path / "big.bin"
    src.write_bytes(b"x" * (MIN_PART_SIZE + 1))
    with pytest.raises(StorageError):
        store.put_file("a/b.bin", src)


def test_local_public_files_readable_by_other_users_private_not(tmp_path):
    """nginx (another user) serves public media from the folder: 0644 files in 0755 folders
    whatever the writer's umask; private working files stay owner-only."""
    old = os.umask(0o077)  # a hardened service's umask: without explicit modes everything is 0600/0700
    try:
        storage = LocalStorage(tmp_path / "media")
        storage.put_bytes("sittings/7/live.json", b"{}")
        src = tmp_path / "seg.ts"
        src.write_bytes(b"\x47" * 188)
        storage.put_file("sittings/7/subs/seg_00001.vtt", src)
        storage.put_bytes("sittings/7/subs/seg_00001.vtt", b"WEBVTT\n")  # a rewrite keeps the mode
        storage.put_bytes("work/sittings/7/audio/chunk.wav", b"RIFF")
    finally:
        os.umask(old)

    def mode(rel: str) -> int:
        return (tmp_path / "media" / rel).stat().st_mode & 0o777

    assert mode("") == 0o755
    for folder in ("sittings", "sittings/7", "sittings/7/subs"):
        assert mode(folder) == 0o755, folder
    for name in ("sittings/7/live.json", "sittings/7/subs/seg_00001.vtt"):
        assert mode(name) == 0o644, name
    for folder in ("work", "work/sittings", "work/sittings/7", "work/sittings/7/audio"):
        assert mode(folder) == 0o700, folder
    assert mode("work/sittings/7/audio/chunk.wav") == 0o600
    assert not [p for p in (tmp_path / "media").rglob(".tmp-*")]
