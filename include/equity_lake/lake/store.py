"""The one Parquet reader/writer, over ``file://`` and ``s3://`` alike (pyarrow.fs).

Writes are atomic for readers: on a local folder a temporary file is renamed over the key; on
S3 a single upload only becomes visible when it completes. Nothing else in the project opens
lake objects directly.

Reads of an object see one version of it: on S3 a single GET (boto3; pyarrow's stream is a HEAD
then ranged GETs, which can straddle a replacement). A read-modify-write is optimistic and
checked (``read_versioned`` then ``write_if``): on S3 a conditional PUT (``If-Match`` on the
ETag read, ``If-None-Match: *`` for a new object; the target server must support both, as AWS
S3 and MinIO do), on a local folder a compare-and-rename under a per-key lock. A lost race
answers False, and the caller re-reads and re-merges.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import mimetypes
import os
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from typing import Any, TypeVar
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from equity_lake.config import LakeConfig

PARQUET_OPTIONS = {"compression": "zstd", "write_statistics": True}
#: where local writes stage their bytes before the rename (same filesystem, not under data/)
TEMPORARY_PREFIX = ".tmp"
#: what ``read_versioned`` returns for an object that does not exist
ABSENT = "absent"
#: S3 error codes of an object that does not exist (never decided by message text)
_S3_MISSING = ("NoSuchKey", "404", "NotFound")
#: S3 answers of a conditional write that lost its race
_S3_CONFLICT = ("PreconditionFailed", "ConditionalRequestConflict", "412", "409")


class CorruptObject(RuntimeError):
    """A stored object is not readable Parquet: named and copied aside
    (``keys.corrupt_copy``), never worth a retry (a retry reads the same bytes)."""


class LakeStore:
    """Keys (``data/...``) in, tables and bytes out; the root and credentials stay inside."""

    def __init__(self, config: LakeConfig | None = None) -> None:
        self.config = config or LakeConfig.from_env()
        self.fs = _filesystem(self.config)
        self.root = self.config.root
        self._local = self.config.scheme == "file"
        self._folders: set[str] = set()
        if self._local:
            os.makedirs(self.root, exist_ok=True)

    @property
    def local(self) -> bool:
        """A local folder (no round trips: concurrency buys little), not S3."""
        return self._local

    def __repr__(self) -> str:
        return f"LakeStore({self.config.uri!r})"

    def path(self, key: str) -> str:
        if key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"{key!r} is not a relative lake key")
        return f"{self.root}/{key}"

    def uri(self, key: str) -> str:
        return f"{self.config.uri}/{key}"

    # --- reading ------------------------------------------------------------------------------
    def exists(self, key: str) -> bool:
        return self.fs.get_file_info(self.path(key)).type == pafs.FileType.File

    def read_table(self, key: str, columns: list[str] | None = None) -> pa.Table | None:
        """The table at ``key``, or None when there is no such object.

        Lake objects are small (a security-month, a company), so one GET of the whole object
        beats the footer-then-columns range requests of a seekable file on S3.
        """
        data = self.read_bytes(key)
        if data is None:
            return None
        return self.stored_table(key, data, columns)

    def stored_table(self, key: str, data: bytes, columns: list[str] | None = None) -> pa.Table:
        """The table in ``data``, read from ``key``; unreadable bytes are copied aside and
        reported as ``CorruptObject`` naming the key."""
        try:
            return self.table_from_bytes(data, columns)
        except (pa.ArrowException, OSError) as exc:
            from equity_lake.lake import keys

            kept = keys.corrupt_copy(key)
            self.write_bytes(kept, data)
            reason = " ".join(str(exc).split())
            raise CorruptObject(
                f"{self.uri(key)} is not a readable Parquet object ({reason}); its bytes are "
                f"kept at {self.uri(kept)}; rebuild it with: equity-lake repair {key}"
            ) from exc

    @staticmethod
    def table_from_bytes(data: bytes, columns: list[str] | None = None) -> pa.Table:
        return pq.ParquetFile(pa.BufferReader(data)).read(columns=columns)

    @staticmethod
    def table_bytes(table: pa.Table) -> bytes:
        """The Parquet bytes the lake stores for ``table``. An Arrow buffer, not ``io.BytesIO``:
        a Python file object takes the GIL on every write, which made encoding on threads
        slower than on one (a publish encodes thousands of small objects at once)."""
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, **PARQUET_OPTIONS)
        return sink.getvalue().to_pybytes()

    def read_bytes(self, key: str) -> bytes | None:
        return self.read_versioned(key)[0]

    def read_versioned(self, key: str) -> tuple[bytes | None, str]:
        """The object's bytes (None when there is none) and a token of the version read, for
        ``write_if``; one version, never parts of two."""
        if not self._local:
            return self._s3_get(key)
        path = self.path(key)
        try:
            with open(path, "rb") as f:
                stat = os.fstat(f.fileno())
                return f.read(), _local_token(stat)
        except OSError as exc:
            if _is_not_found(exc):
                return None, ABSENT
            raise

    def write_if(self, key: str, data: bytes, token: str) -> bool:
        """Replace ``key`` with ``data`` only if it still holds the version ``token`` (or, for
        ``ABSENT``, still does not exist); False when another writer got there first."""
        if not self._local:
            return self._s3_put_if(key, data, token)
        path = self.path(key)
        self._folder(os.path.dirname(path))
        with self._key_lock(key):  # creates too: a delete must not let one slip in between
            try:
                current = _local_token(os.stat(path))
            except FileNotFoundError:
                current = ABSENT
            if current != token:
                return False
            self.write_bytes(key, data)
            return True

    def read_json(self, key: str) -> object | None:
        data = self.read_bytes(key)
        return None if data is None else json.loads(data)

    def list(self, prefix: str) -> list[str]:
        """Keys of objects below ``prefix`` (recursive), sorted."""
        return [key for key, _ in self.list_modified(prefix)]

    def list_modified(self, prefix: str) -> list[tuple[str, float]]:
        """(key, modification time as epoch seconds) of the objects below ``prefix``, sorted."""
        selector = pafs.FileSelector(
            self.path(prefix.rstrip("/")), recursive=True, allow_not_found=True
        )
        base = len(self.root) + 1
        return sorted(
            (info.path[base:], info.mtime.timestamp() if info.mtime else 0.0)
            for info in self.fs.get_file_info(selector)
            if info.type == pafs.FileType.File
        )

    def folders(self, prefix: str) -> list[str]:
        """The names of the folders right below ``prefix``, sorted: one delimited listing (S3
        answers a line per folder, not one per object below it)."""
        selector = pafs.FileSelector(
            self.path(prefix.rstrip("/")), recursive=False, allow_not_found=True
        )
        return sorted(
            info.path.rsplit("/", 1)[-1]
            for info in self.fs.get_file_info(selector)
            if info.type == pafs.FileType.Directory
        )

    def size(self, key: str) -> int | None:
        """The object's size in bytes (a HEAD on S3); None when there is no such object."""
        info = self.fs.get_file_info(self.path(key))
        return info.size if info.type == pafs.FileType.File and info.size is not None else None

    # --- writing ------------------------------------------------------------------------------
    def write_table(self, key: str, table: pa.Table) -> None:
        """Replace ``key`` with ``table`` atomically."""
        self.write_bytes(key, self.table_bytes(table))

    def write_table_if_changed(self, key: str, table: pa.Table, existing: pa.Table | None) -> bool:
        """Replace ``key`` unless ``existing`` (what the caller read from it; None: nothing is
        stored) already holds exactly ``table``; True when written."""
        if holds(existing, table):
            return False
        self.write_table(key, table)
        return True

    def write_bytes(self, key: str, data: bytes) -> None:
        """Replace ``key`` with ``data`` atomically (rename locally; on S3 one PUT, never a
        multipart upload a crash could leave behind unfinished)."""
        path = self.path(key)
        if self._local:
            self._folder(os.path.dirname(path))
            os.replace(self._temporary(data), path)
            return
        self._s3_put(key, data)

    def write_json(self, key: str, obj: object) -> None:
        self.write_bytes(key, json.dumps(obj, indent=1, sort_keys=True, default=str).encode())

    def move(self, src: str, dst: str) -> None:
        """Move one object (a rename locally, copy-then-delete on S3)."""
        if self._local:
            os.makedirs(os.path.dirname(self.path(dst)), exist_ok=True)
        self.fs.move(self.path(src), self.path(dst))

    # --- S3 through boto3, where pyarrow lacks single GETs and conditional PUTs ---------------
    @cached_property
    def _s3(self) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.config.s3_endpoint,
            region_name=self.config.s3_region or "us-east-1",
            aws_access_key_id=self.config.access_key,
            aws_secret_access_key=self.config.secret_key,
            aws_session_token=self.config.session_token,
            config=Config(
                retries={"max_attempts": 5, "mode": "standard"},
                connect_timeout=10,
                read_timeout=60,
                max_pool_connections=32,
            ),
        )

    def _bucket_key(self, key: str) -> tuple[str, str]:
        bucket, _, prefix = self.path(key).partition("/")
        return bucket, prefix

    def _s3_get(self, key: str) -> tuple[bytes | None, str]:
        from botocore.exceptions import ClientError

        bucket, name = self._bucket_key(key)
        try:
            response = self._s3.get_object(Bucket=bucket, Key=name)
        except ClientError as exc:
            if _s3_code(exc) in _S3_MISSING:
                return None, ABSENT
            raise OSError(f"S3 GET {bucket}/{name}: {_s3_code(exc)} {exc}") from exc
        return response["Body"].read(), response["ETag"]

    def _s3_put(self, key: str, data: bytes) -> None:
        from botocore.exceptions import ClientError

        bucket, name = self._bucket_key(key)
        try:
            self._s3.put_object(Bucket=bucket, Key=name, Body=data, ContentType=_content_type(name))
        except ClientError as exc:
            raise OSError(f"S3 PUT {bucket}/{name}: {_s3_code(exc)} {exc}") from exc

    def _s3_put_if(self, key: str, data: bytes, token: str) -> bool:
        from botocore.exceptions import ClientError

        bucket, name = self._bucket_key(key)
        condition = {"IfNoneMatch": "*"} if token == ABSENT else {"IfMatch": token}
        try:
            self._s3.put_object(Bucket=bucket, Key=name, Body=data, **condition)
        except ClientError as exc:
            code = _s3_code(exc)
            if code in _S3_CONFLICT or (token != ABSENT and code in _S3_MISSING):
                return False
            raise OSError(f"S3 PUT {bucket}/{name}: {code} {exc}") from exc
        return True

    def _temporary(self, data: bytes) -> str:
        """A new local file holding ``data``, outside data/ (an interrupted write never leaves
        a file a reader of data/** sees), on the lake's filesystem (so a rename is atomic)."""
        tmp = self.path(f"{TEMPORARY_PREFIX}/{uuid.uuid4().hex}.tmp")
        self._folder(os.path.dirname(tmp))
        with open(tmp, "wb") as f:
            f.write(data)
        return tmp

    def _folder(self, path: str) -> None:
        """Make a local folder once per store (a publish writes thousands into a few)."""
        if path not in self._folders:
            os.makedirs(path, exist_ok=True)
            self._folders.add(path)

    def _key_lock(self, key: str) -> Any:
        """An exclusive lock on ``key`` across threads and processes: one of 256 lock files
        outside the lake's data (readers of ``data/**`` never see them)."""
        digest = hashlib.sha256(key.encode()).hexdigest()[:2]
        folder = os.path.join(self.root, ".locks")
        self._folder(folder)
        return _FileLock(os.path.join(folder, f"{digest}.lock"))

    def delete(self, key: str) -> None:
        try:
            self.fs.delete_file(self.path(key))
        except FileNotFoundError:
            pass
        except OSError as exc:
            if not _is_not_found(exc):
                raise


def holds(existing: pa.Table | None, table: pa.Table) -> bool:
    """The one "unchanged, so not rewritten" rule: a stored object that already holds exactly
    ``table`` (schema and rows) is left as it is, so a re-run leaves the lake byte-for-byte
    unchanged."""
    return existing is not None and existing.schema.equals(table.schema) and existing.equals(table)


def _local_token(stat: os.stat_result) -> str:
    """A local file's version: a replacement is a new inode (``os.replace``)."""
    return f"{stat.st_ino}:{stat.st_mtime_ns}:{stat.st_size}"


def _content_type(key: str) -> str:
    """The Content-Type of an object, from its key's extension: S3 serves it over HTTP with
    it, so a site under the lake (Data Docs) renders in a browser instead of downloading."""
    return mimetypes.guess_type(key)[0] or "application/octet-stream"


def _s3_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    error = response.get("Error") or {}
    status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
    return str(error.get("Code") or status or "")


def _is_not_found(exc: OSError) -> bool:
    """Decided by the error's type or number, never its text: the text holds the key, and a
    key such as ``.../103404/...`` must not turn an S3 503 or a local I/O error into "no such
    object" (a merge would then rewrite the object with the new rows only). pyarrow raises
    FileNotFoundError (ENOENT) for a missing local file and for S3's 404."""
    return isinstance(exc, FileNotFoundError) or getattr(exc, "errno", None) == errno.ENOENT


def _filesystem(config: LakeConfig) -> pafs.FileSystem:
    if config.scheme == "file":
        return pafs.LocalFileSystem()
    kwargs: dict[str, object] = {
        "retry_strategy": pafs.AwsStandardS3RetryStrategy(max_attempts=5),
        "connect_timeout": 10,
        "request_timeout": 60,
    }
    if config.s3_endpoint:
        parsed = urlparse(config.s3_endpoint)
        kwargs["endpoint_override"] = parsed.netloc
        kwargs["scheme"] = parsed.scheme
    if config.s3_region:
        kwargs["region"] = config.s3_region
    if config.access_key and config.secret_key:
        kwargs["access_key"] = config.access_key
        kwargs["secret_key"] = config.secret_key
        if config.session_token:
            kwargs["session_token"] = config.session_token
    return pafs.S3FileSystem(**kwargs)


class _FileLock:
    """``fcntl.flock`` on a lock file. Each entry opens the file anew: flock locks belong to
    the open file description, so threads of one process exclude each other too."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __enter__(self) -> _FileLock:
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)


#: reads in flight at once when many objects are read (on S3 each read is a round trip)
READ_THREADS = 16
T = TypeVar("T")
R = TypeVar("R")


def read_all(read: Callable[[T], R], items: list[T]) -> list[R]:
    """``[read(item) ...]``, READ_THREADS at once: on S3 each read is a round trip."""
    if len(items) <= 1:
        return [read(item) for item in items]
    with ThreadPoolExecutor(max_workers=READ_THREADS) as pool:
        return list(pool.map(read, items))
