"""Stream the SEC's nightly ``companyfacts.zip`` one company at a time.

The archive (about 1.4 GB, one ``CIK##########.json`` per company) is read entry by entry from
disk: only one company's document is in memory at a time, and the caller decides how many
normalised companies to hold before publishing them. Entries for companies outside ``ciks``
are skipped without being decompressed.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from equity_lake.lake import keys

_ENTRY = re.compile(r"(?:.*/)?CIK(\d{10})\.json$")


class ArchiveError(ValueError):
    """The file is not a companyfacts archive (not a zip, or no CIK entries)."""


def iter_companyfacts(
    archive: str | Path, ciks: Iterable[str] | None = None
) -> Iterator[tuple[str, bytes]]:
    """(cik, raw JSON bytes) for each company in the archive, in archive order."""
    wanted = {keys.cik(c) for c in ciks} if ciks is not None else None
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ArchiveError(f"{archive}: not a readable zip archive: {exc}") from None
    with zf:
        seen = 0
        for info in zf.infolist():
            match = _ENTRY.fullmatch(info.filename)
            if match is None or info.is_dir():
                continue
            seen += 1
            cik = match.group(1)
            if wanted is not None and cik not in wanted:
                continue
            with zf.open(info) as entry:
                yield cik, entry.read()
        if seen == 0:
            raise ArchiveError(f"{archive}: no CIK##########.json entries; not companyfacts.zip")
