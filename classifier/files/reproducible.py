"""Workbooks saved byte for byte the same for the same content: openpyxl stamps the save time
into docProps/core.xml and into every zip entry, so a weekly file that did not change looked
changed to checksums, git and "send only if new"."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import tempfile
from typing import IO, Any
from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo

# The earliest time a zip entry can hold; the document's created/modified times say the same.
FIXED_TIME = dt.datetime(1980, 1, 1)
_CORE = "docProps/core.xml"
_COPY_BLOCK = 1 << 20


def save_reproducibly(book: Any, target: str | IO[bytes]) -> None:
    """Save an openpyxl workbook with fixed document times and zip entry times."""
    from openpyxl.xml.functions import tostring

    with tempfile.TemporaryFile() as first:
        book.save(first)  # sets properties.modified to now: core.xml is written again below
        first.seek(0)
        book.properties.created = book.properties.modified = FIXED_TIME
        core = tostring(book.properties.to_tree())
        with ZipFile(first) as saved, ZipFile(target, "w", ZIP_DEFLATED, allowZip64=True) as out:
            for entry in saved.infolist():
                fixed = ZipInfo(entry.filename, date_time=FIXED_TIME.timetuple()[:6])
                fixed.compress_type = ZIP_DEFLATED
                fixed.external_attr = entry.external_attr
                if entry.filename == _CORE:
                    out.writestr(fixed, core)
                    continue
                fixed.file_size = entry.file_size  # so a large sheet gets its zip64 header
                with saved.open(entry) as source, out.open(fixed, "w") as copy:
                    shutil.copyfileobj(source, copy, _COPY_BLOCK)


def reproducible_bytes(book: Any) -> bytes:
    """An openpyxl workbook as reproducible .xlsx bytes."""
    buffer = io.BytesIO()
    save_reproducibly(book, buffer)
    return buffer.getvalue()
