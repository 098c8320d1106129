"""Media storage: one interface, a local folder backend and an S3 backend (boto3).

Keys are relative POSIX paths such as ``sittings/12/seg_00001.ts``. A key never escapes the
storage root: ``..``, absolute paths, backslashes and NUL bytes are refused.
"""

from __future__ import annotations

import os
import posixpath
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

from sanarip.cachepolicy import cache_control
from sanarip.errors import NotFound, SanaripError

CHUNK = 256 * 1024
MULTIPART_THRESHOLD = 64 * 1024 * 1024
MIN_PART_SIZE = 5 * 1024 * 1024  # S3 refuses smaller parts (but the last)
PUBLIC_ROOT = "sittings"  # the public part of storage (see sanarip/medialayout.py); the rest is private
# Public media is read by a static server running as another user (nginx's www-data): world-readable
# files and traversable folders. Private files keep mkstemp's owner-only 0600 and get 0700 folders.
PUBLIC_FILE_MODE, PUBLIC_DIR_MODE = 0o644, 0o755
PRIVATE_FILE_MODE, PRIVATE_DIR_MODE = 0o600, 0o700


class StorageError(SanaripError):
    """A storage operation failed (missing object, unreachable backend, bad key)."""


def clean_key(key: str) -> str:
    """Validate a storage key and return its normal form; raise StorageError if unsafe."""
    if not key or "\x00" in key or "\\" in key or key.startswith("/"):
        raise StorageError(f"invalid storage key {key!r}")
    norm = posixpath.normpath(key)
    if norm.startswith("..") or norm == "." or any(part == ".." for part in key.split("/")):
        raise StorageError(f"invalid storage key {key!r}")
    return norm


def is_public_key(key: str) -> bool:
    """Whether ``key`` (a clean key) lies in public storage, the part browsers and CDNs may read."""
    return key.split("/", 1)[0] == PUBLIC_ROOT


class Storage(ABC):
    """Where media segments, playlists and audio live."""

    @abstractmethod
    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        """Store ``data`` atomically: readers see the old object or the new one, never a part."""

    @abstractmethod
    def put_file(self, key: str, path: str | Path, content_type: str | None = None) -> None:
        """Store a local file atomically."""

    @abstractmethod
    def size(self, key: str) -> int:
        """Size in bytes; NotFound if absent."""

    @abstractmethod
    def read_range(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Stream bytes ``start``..``end`` inclusive (``end=None``: to the end)."""

    @abstractmethod
    def list(self, prefix: str = "") -> list[str]:
        """Keys starting with ``prefix`` (a plain string prefix, as in S3), sorted."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove an object; absent objects are ignored."""

    def delete_prefix(self, prefix: str) -> int:
        """Remove every object whose key starts with ``prefix``; returns how many.

        A plain string prefix, as in ``list`` (end it with ``/`` to mean a folder). An empty
        prefix is refused: one slip must not empty the archive.
        """
        if not prefix.strip("/"):
            raise StorageError("refusing to delete the whole storage")
        keys = self.list(prefix)
        for key in keys:
            self.delete(key)
        return len(keys)

    @abstractmethod
    def media_url(self, key: str, expires: int = 3600) -> str | None:
        """A URL a browser can fetch directly, or None when the web app must serve it."""

    @abstractmethod
    def check(self) -> None:
        """Raise StorageError if the backend is unreachable."""

    def get_bytes(self, key: str) -> bytes:
        return b"".join(self.read_range(key))

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except NotFound:
            return False
        return True


class LocalStorage(Storage):
    """A folder on this machine.

    File modes do not depend on the process's umask: public keys are written 0644 in 0755
    folders so that nginx (another user) serves them directly, private ones 0600 in 0700
    folders. A root this class creates is 0755 (the static server must traverse it); an
    existing root keeps the mode its operator gave it.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            self.root.mkdir(parents=True, exist_ok=True)
            os.chmod(self.root, PUBLIC_DIR_MODE)

    def path(self, key: str) -> Path:
        """The file behind ``key``, guaranteed to lie inside the root."""
        path = (self.root / clean_key(key)).resolve()
        if not path.is_relative_to(self.root):
            raise StorageError(f"invalid storage key {key!r}")
        return path

    def _make_folders(self, folder: Path, mode: int) -> None:
        """Create ``folder`` and its missing parents below the root, each with ``mode`` (not umask's)."""
        missing = []
        while folder != self.root and not folder.is_dir():
            missing.append(folder)
            folder = folder.parent
        for path in reversed(missing):
            try:
                path.mkdir()
            except FileExistsError:  # another writer made it first
                continue
            os.chmod(path, mode)

    def _atomic_write(self, key: str, write) -> None:
        target = self.path(key)
        public = is_public_key(clean_key(key))
        self._make_folders(target.parent, PUBLIC_DIR_MODE if public else PRIVATE_DIR_MODE)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=target.suffix)
        try:
            if public:  # mkstemp makes 0600 files; chmod before the rename, so no reader sees them closed
                os.fchmod(fd, PUBLIC_FILE_MODE)
            with os.fdopen(fd, "wb") as fh:
                write(fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        self._atomic_write(key, lambda fh: fh.write(data))

    def put_file(self, key: str, path: str | Path, content_type: str | None = None) -> None:
        def copy(fh) -> None:
            with open(path, "rb") as src:
                while chunk := src.read(CHUNK):
                    fh.write(chunk)

        self._atomic_write(key, copy)

    def size(self, key: str) -> int:
        path = self.path(key)
        if not path.is_file():
            raise NotFound(key)
        return path.stat().st_size

    def read_range(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        path = self.path(key)
        try:
            fh = open(path, "rb")  # noqa: SIM115 - closed by the generator
        except (FileNotFoundError, IsADirectoryError):
            raise NotFound(key) from None
        return self._stream(fh, start, end)

    @staticmethod
    def _stream(fh, start: int, end: int | None) -> Iterator[bytes]:
        with fh:
            fh.seek(start)
            remaining = None if end is None else end - start + 1
            while remaining is None or remaining > 0:
                chunk = fh.read(CHUNK if remaining is None else min(CHUNK, remaining))
                if not chunk:
                    break
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk

    def list(self, prefix: str = "") -> list[str]:
        base = self.root
        if prefix:
            base = self.path(prefix)
            if not base.is_dir():
                base = base.parent
        if not base.exists():
            return []
        keys = (p.relative_to(self.root).as_posix() for p in base.rglob("*") if p.is_file())
        return sorted(k for k in keys if k.startswith(prefix) and not Path(k).name.startswith(".tmp-"))

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> int:
        count = super().delete_prefix(prefix)
        # Folders left empty go too, up to the root (a sitting's working folder must not linger).
        folder = self.path(prefix)
        if not folder.is_dir():
            folder = folder.parent
        if folder.is_dir():
            for path in sorted((p for p in folder.rglob("*") if p.is_dir()), reverse=True):
                if not any(path.iterdir()):
                    path.rmdir()
        while folder != self.root and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent
        return count

    def media_url(self, key: str, expires: int = 3600) -> str | None:
        return None

    def check(self) -> None:
        if not os.access(self.root, os.W_OK):
            raise StorageError(f"storage folder {self.root} is not writable")


class S3Storage(Storage):
    """A bucket (and optional prefix) on any S3 endpoint.

    Requests and presigned URLs are signed with SigV4, the only signature current S3 servers
    accept; files above ``multipart_threshold`` go up in parts (boto3's managed transfer), since a
    single PUT is capped at 5 GiB and a failed part is retried alone.
    """

    def __init__(self, bucket: str, prefix: str = "", endpoint_url: str | None = None,
                 multipart_threshold: int = MULTIPART_THRESHOLD) -> None:
        import boto3
        from boto3.s3.transfer import TransferConfig
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint_url or None,
            config=Config(
                signature_version="s3v4",
                # SigV4 signs the region; AWS_REGION / AWS_DEFAULT_REGION / the AWS config file win.
                region_name=boto3.session.Session().region_name or "us-east-1",
                # Self-hosted endpoints rarely resolve bucket.host names; AWS itself keeps its default.
                s3={"addressing_style": "path"} if endpoint_url else None,
                retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=30,
            ),
        )
        self.transfer = TransferConfig(multipart_threshold=multipart_threshold,
                                       multipart_chunksize=max(multipart_threshold, MIN_PART_SIZE))

    def _key(self, key: str) -> str:
        key = clean_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _call(self, fn, key: str, **kwargs):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return fn(Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404", "NotFound"):
                raise NotFound(key) from None
            raise StorageError(f"S3 {code or 'error'} on {key!r}: {exc}") from None
        except BotoCoreError as exc:
            raise StorageError(f"S3 unreachable: {exc}") from None

    @staticmethod
    def _headers(key: str, content_type: str | None) -> dict[str, str]:
        """Content type, and for public media its Cache-Control (served as stored, by S3 or a CDN)."""
        extra = {"ContentType": content_type} if content_type else {}
        if is_public_key(key):
            extra["CacheControl"] = cache_control(key)
        return extra

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        self._call(self.client.put_object, key, Key=self._key(key), Body=data, **self._headers(key, content_type))

    def put_file(self, key: str, path: str | Path, content_type: str | None = None) -> None:
        # Atomic either way: a single PUT, or a multipart upload that S3 shows only once completed
        # (boto3 aborts it on failure, so no parts linger).
        from boto3.exceptions import S3UploadFailedError

        extra = self._headers(key, content_type)
        try:
            self._call(self.client.upload_file, key, Filename=str(path), Key=self._key(key), ExtraArgs=extra,
                       Config=self.transfer)
        except S3UploadFailedError as exc:
            raise StorageError(f"S3 upload of {key!r} failed: {exc}") from None

    def size(self, key: str) -> int:
        return int(self._call(self.client.head_object, key, Key=self._key(key))["ContentLength"])

    def read_range(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        byte_range = f"bytes={start}-{'' if end is None else end}"
        if start == 0 and end is None:
            resp = self._call(self.client.get_object, key, Key=self._key(key))
        else:
            resp = self._call(self.client.get_object, key, Key=self._key(key), Range=byte_range)
        return resp["Body"].iter_chunks(CHUNK)

    def list(self, prefix: str = "") -> list[str]:
        full = self._key(prefix) if prefix else (self.prefix + "/" if self.prefix else "")
        if prefix.endswith("/") and not full.endswith("/"):  # clean_key drops it; "a/1/" must not match "a/10"
            full += "/"
        keys: list[str] = []
        paginator = self.client.get_paginator("list_objects_v2")
        strip = len(self.prefix) + 1 if self.prefix else 0
        for page in paginator.paginate(Bucket=self.bucket, Prefix=full):
            keys.extend(obj["Key"][strip:] for obj in page.get("Contents", []))
        return sorted(keys)

    def delete(self, key: str) -> None:
        self._call(self.client.delete_object, key, Key=self._key(key))

    def delete_prefix(self, prefix: str) -> int:
        """As ``Storage.delete_prefix``, 1,000 keys a request (a sitting-hour has 1,800 chunks)."""
        if not prefix.strip("/"):
            raise StorageError("refusing to delete the whole storage")
        keys = self.list(prefix)
        for i in range(0, len(keys), 1000):
            batch = [{"Key": self._key(k)} for k in keys[i:i + 1000]]
            resp = self._call(self.client.delete_objects, prefix, Delete={"Objects": batch, "Quiet": True})
            if resp.get("Errors"):
                err = resp["Errors"][0]
                raise StorageError(f"S3 {err.get('Code', 'error')} deleting {err.get('Key')!r}: {err.get('Message')}")
        return len(keys)

    def media_url(self, key: str, expires: int = 3600) -> str | None:
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": self._key(key)}, ExpiresIn=expires
        )

    def check(self) -> None:
        self._call(self.client.head_bucket, "")


def open_storage(spec: str, s3_endpoint: str = "") -> Storage:
    """Storage for a folder path or ``s3://bucket/prefix``."""
    if spec.startswith("s3://"):
        parsed = urlparse(spec)
        return S3Storage(parsed.netloc, parsed.path, endpoint_url=s3_endpoint or None)
    return LocalStorage(spec)
