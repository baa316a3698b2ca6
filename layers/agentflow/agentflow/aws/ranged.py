"""A read-only, seekable file over an S3 object, read with ranged GETs: bounded memory, no /tmp.

PyAV (FFmpeg) reads a file-like object through ``read``/``seek``/``tell``; some containers seek
(an MP4 whose index sits at its end, a WAV's header), so a plain streaming body is not enough.
Memory stays at one block, however large the object.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping
from typing import Any

log = logging.getLogger(__name__)

# One ranged GET per block: 4 MiB is ~500 GETs for a 2 GiB upload (well inside ingest's Timeout
# at loopback or in-region speeds) and a small, fixed share of the function's memory.
DEFAULT_BLOCK_BYTES = 4 * 1024 * 1024


class S3RangeReader(io.RawIOBase):
    """Read one version of an S3 object by ranges, holding at most one block in memory.

    Args:
        s3: a boto3 S3 client.
        bucket: the bucket.
        key: the object key.
        size: the object's length (from ``HeadObject``); nothing past it is read.
        version_id: the version to read (a versioned bucket), so a replaced object cannot mix in.
        etag: without a version id, ``IfMatch`` on every GET does the same.
        block_bytes: bytes per ranged GET.
    """

    def __init__(
        self,
        s3: Any,
        *,
        bucket: str,
        key: str,
        size: int,
        version_id: str | None = None,
        etag: str | None = None,
        block_bytes: int = DEFAULT_BLOCK_BYTES,
    ) -> None:
        super().__init__()
        self._s3, self._bucket, self._key, self.size = s3, bucket, key, size
        self._pin: dict[str, str] = (
            {"VersionId": version_id} if version_id else ({"IfMatch": etag} if etag else {})
        )
        self._block_bytes = block_bytes
        self._pos = 0
        self._block_start, self._block = 0, b""
        self.gets = 0  # ranged GETs made (for tests and logs)
        self.largest_get = 0  # bytes of the largest one

    @classmethod
    def of_head(cls, s3: Any, *, bucket: str, key: str, head: Mapping[str, Any]) -> S3RangeReader:
        """A reader of the very version that ``HeadObject`` (``head``) described: its length, pinned
        by its version id, or by its ETag when the bucket keeps no versions."""
        return cls(
            s3,
            bucket=bucket,
            key=key,
            size=int(head["ContentLength"]),
            version_id=head.get("VersionId"),
            etag=head.get("ETag"),
        )

    def readable(self) -> bool:
        """Always: it is a reader."""
        return True

    def seekable(self) -> bool:
        """Always: any offset is one ranged GET away."""
        return True

    def tell(self) -> int:
        """The current offset."""
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move to ``offset`` (from the start, the current offset or the end)."""
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        """Fill ``buffer`` from the current offset; 0 at the end of the object."""
        view = memoryview(buffer).cast("B")
        if self._pos >= self.size or len(view) == 0:
            return 0
        if not self._block_start <= self._pos < self._block_start + len(self._block):
            self._fetch(self._pos)
        at = self._pos - self._block_start
        count = min(len(view), len(self._block) - at)
        view[:count] = self._block[at : at + count]
        self._pos += count
        return count

    def _fetch(self, start: int) -> None:
        end = min(start + self._block_bytes, self.size) - 1
        self._block = b""  # the old block goes before the new one arrives: one block at a time
        body = self._s3.get_object(
            Bucket=self._bucket, Key=self._key, Range=f"bytes={start}-{end}", **self._pin
        )
        self._block = body["Body"].read()
        self._block_start = start
        self.gets += 1
        self.largest_get = max(self.largest_get, len(self._block))
