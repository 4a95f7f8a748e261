"""Files only the service's user can read: uploads, the key secret, the embedded data directory.

Directories are 0700 and files 0600 whatever the umask, so that other accounts on the host read
nothing of a collection's documents.
"""

from __future__ import annotations

import os
from pathlib import Path

DIRECTORY_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path, *, tighten_existing: bool = True) -> Path:
    """`path` and any parents it creates, each 0700 (`mkdir(parents=True)` would give them the umask's
    mode); an existing `path` is made 0700 too unless `tighten_existing` is false (a directory the
    user chose, which may be shared on purpose)."""
    missing = []
    for candidate in (path, *path.parents):
        if candidate.exists():
            break
        missing.append(candidate)
    for directory in reversed(missing):
        directory.mkdir(mode=DIRECTORY_MODE, exist_ok=True)
    if missing or tighten_existing:
        os.chmod(path, DIRECTORY_MODE)
    return path


def create_private_file(path: Path):
    """A new file open for binary writing, 0600 from its first byte; FileExistsError if it exists."""
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE), "wb")
