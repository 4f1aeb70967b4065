# -*- coding: utf-8 -*-
# Copyright: natzero.aws contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

"""Reproducible zip packages of a source directory, built in memory.

The same source gives the same bytes (and so the same Lambda CodeSha256)
on every machine and every run: entries are sorted, timestamps and
permissions are fixed, and build litter (__pycache__, *.pyc) is left out.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import zipfile

FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644
SKIPPED_DIRS = frozenset(("__pycache__", ".git", ".pytest_cache", ".mypy_cache"))
SKIPPED_SUFFIXES = (".pyc", ".pyo")


def source_files(source_path, include=None):
    """(archive name, file path) of every packaged file, sorted by archive name.

    `include` (top-level names in source_path) narrows the package to those
    files and directories; None packages all of source_path."""
    files = []
    for root, dirs, names in os.walk(source_path):
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS]
        for name in names:
            if name.endswith(SKIPPED_SUFFIXES):
                continue
            path = os.path.join(root, name)
            arcname = os.path.relpath(path, source_path).replace(os.sep, "/")
            if include is None or arcname.split("/", 1)[0] in include:
                files.append((arcname, path))
    return sorted(files)


def build_zip(source_path, include=None):
    """The zip archive of source_path (narrowed to `include`, see source_files) as bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for arcname, path in source_files(source_path, include):
            info = zipfile.ZipInfo(arcname, date_time=FIXED_DATE_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = FILE_MODE << 16
            with open(path, "rb") as handle:
                archive.writestr(info, handle.read(), compresslevel=9)
    return buffer.getvalue()


def code_sha256(data):
    """The digest Lambda reports as CodeSha256: base64 of the SHA-256."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")
