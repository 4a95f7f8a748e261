"""Read a collection's source directory into documents: text per page, a content hash, a title.

Scanning hashes bytes only; parsing happens lazily for new or changed documents, and a parse
error belongs to its own document (`DocumentError`), never to the batch. One module per format.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable, Iterator

from assets.ingestion.readers.base import (  # noqa: F401 - the package's interface
    Budget, DocumentError, Extracted, Heading, Page, ReadOptions, SourceDocument, folded, headings_from_json,
    headings_json,
)
from assets.ingestion.readers.datasets import dataset_documents
from assets.ingestion.readers.isolation import ISOLATED, IsolatedReader  # noqa: F401
from assets.ingestion.readers.mail import read_eml
from assets.ingestion.readers.office import read_docx, read_pptx
from assets.ingestion.readers.pdf import read_pdf
from assets.ingestion.readers.text import read_html, read_markdown, read_text
from llamapg.formats import FILE_SUFFIXES, SUPPORTED_SUFFIXES

READERS: dict[str, Callable[[bytes, Budget], Extracted]] = {
    ".pdf": read_pdf,
    ".md": read_markdown,
    ".markdown": read_markdown,
    ".txt": read_text,
    ".html": read_html,
    ".htm": read_html,
    ".docx": read_docx,
    ".pptx": read_pptx,
    ".eml": read_eml,
}
assert READERS.keys() == FILE_SUFFIXES, "llamapg.formats lists the suffixes read here"


def source_files(root: Path) -> Iterator[tuple[Path, str]]:
    """(path, relative name) of every supported file under `root`, in a stable order.

    Hidden files are ignored, which is also how an upload in progress (a hidden temporary file,
    renamed when complete) stays invisible.
    """
    if not root.is_dir():
        raise FileNotFoundError(f"collection source directory does not exist: {root}")
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if path.is_file() and not any(part.startswith(".") for part in relative.parts) and (
            path.suffix.lower() in SUPPORTED_SUFFIXES
        ):
            yield path, relative.as_posix()


def files_fingerprint(roots: list[tuple[str, Path]]) -> str:
    """Changes whenever a supported file is added, removed, resized or touched under any root."""
    digest = hashlib.sha256()
    for prefix, root in roots:
        if not root.is_dir():
            continue
        for path, relative in source_files(root):
            stat = path.stat()
            digest.update(f"{prefix}{relative}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def expected_documents(roots: list[tuple[str, Path]]) -> int:
    """How many documents a scan of `roots` will yield (a dataset's rows counted cheaply: its lines,
    or its Parquet footer), for progress with time left."""
    total = 0
    for _, root in roots:
        if not root.is_dir():
            continue
        for path, _ in source_files(root):
            suffix = path.suffix.lower()
            try:
                if suffix == ".parquet":
                    import pyarrow.parquet as pq

                    total += pq.ParquetFile(path).metadata.num_rows
                elif suffix in FILE_SUFFIXES:
                    total += 1
                else:
                    with path.open("rb") as lines:
                        total += sum(1 for line in lines if line.strip())
            except Exception:  # noqa: BLE001 - an unreadable dataset is one (failed) document
                total += 1
    return total


def scan(root: Path, prefix: str = "") -> Iterator[SourceDocument]:
    """Every supported document under `root`; source URIs are `prefix` + the relative path."""
    for path, relative in source_files(root):
        if path.suffix.lower() in FILE_SUFFIXES:
            yield _file_document(path, prefix + relative)
        else:
            yield from dataset_documents(path, prefix + relative)


def _file_document(path: Path, source_uri: str) -> SourceDocument:
    data = path.read_bytes()
    reader = READERS[path.suffix.lower()]
    return SourceDocument(
        source_uri=source_uri,
        content_hash=hashlib.sha256(data).hexdigest(),
        title=path.stem,
        metadata={"file_name": path.name, "size_bytes": len(data)},
        read=lambda budget: reader(data, budget),
        isolated=(path.suffix.lower(), data) if path.suffix.lower() in ISOLATED else None,
    )


