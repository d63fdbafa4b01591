"""The one Parquet reader/writer, over ``file://`` and ``s3://`` alike (pyarrow.fs).

Writes are atomic for readers: on a local folder a temporary file is renamed over the key; on
S3 a single upload only becomes visible when it completes. Nothing else in the project opens
lake objects directly.
"""

from __future__ import annotations

import errno
import io
import json
import os
import uuid
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from equity_lake.config import LakeConfig

PARQUET_OPTIONS = {"compression": "zstd", "write_statistics": True}


class LakeStore:
    """Keys (``data/...``) in, tables and bytes out; the root and credentials stay inside."""

    def __init__(self, config: LakeConfig | None = None) -> None:
        self.config = config or LakeConfig.from_env()
        self.fs = _filesystem(self.config)
        self.root = self.config.root
        self._local = self.config.scheme == "file"
        if self._local:
            os.makedirs(self.root, exist_ok=True)

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
        return pq.ParquetFile(pa.BufferReader(data)).read(columns=columns)

    def read_bytes(self, key: str) -> bytes | None:
        try:
            with self.fs.open_input_stream(self.path(key)) as f:
                return f.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            if _is_not_found(exc):
                return None
            raise

    def read_json(self, key: str) -> object | None:
        data = self.read_bytes(key)
        return None if data is None else json.loads(data)

    def list(self, prefix: str) -> list[str]:
        """Keys of objects below ``prefix`` (recursive), sorted."""
        selector = pafs.FileSelector(
            self.path(prefix.rstrip("/")), recursive=True, allow_not_found=True
        )
        base = len(self.root) + 1
        return sorted(
            info.path[base:]
            for info in self.fs.get_file_info(selector)
            if info.type == pafs.FileType.File
        )

    # --- writing ------------------------------------------------------------------------------
    def write_table(self, key: str, table: pa.Table) -> None:
        """Replace ``key`` with ``table`` atomically."""
        sink = io.BytesIO()
        pq.write_table(table, sink, **PARQUET_OPTIONS)
        self.write_bytes(key, sink.getvalue())

    def write_table_if_changed(
        self, key: str, table: pa.Table, existing: pa.Table | None | bool = True
    ) -> bool:
        """Replace ``key`` unless it already holds exactly ``table``; True when written.

        The one "unchanged, so not rewritten" rule: re-running a job leaves the lake
        byte-for-byte unchanged. ``existing`` is what the caller already read (None: nothing
        is stored), or True to read it here.
        """
        if existing is True:
            existing = self.read_table(key)
        if existing is not None and existing.schema.equals(table.schema) and existing.equals(table):
            return False
        self.write_table(key, table)
        return True

    def write_bytes(self, key: str, data: bytes) -> None:
        """Replace ``key`` with ``data`` atomically (rename locally, one upload on S3)."""
        path = self.path(key)
        if self._local:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = f"{path}.{uuid.uuid4().hex}.tmp"
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
            return
        with self.fs.open_output_stream(path) as f:
            f.write(data)

    def write_json(self, key: str, obj: object) -> None:
        self.write_bytes(key, json.dumps(obj, indent=1, sort_keys=True, default=str).encode())

    def move(self, src: str, dst: str) -> None:
        """Move one object (a rename locally, copy-then-delete on S3)."""
        if self._local:
            os.makedirs(os.path.dirname(self.path(dst)), exist_ok=True)
        self.fs.move(self.path(src), self.path(dst))

    def delete(self, key: str) -> None:
        try:
            self.fs.delete_file(self.path(key))
        except FileNotFoundError:
            pass
        except OSError as exc:
            if not _is_not_found(exc):
                raise


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
