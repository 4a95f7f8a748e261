"""Binary formats read in a child process, so that a document's time limit is a hard one.

A PDF page whose content streams inflate to hundreds of megabytes keeps a parser busy inside one
library call, where no check between pages can stop it. Documents of the ISOLATED formats are
therefore read by a child process (one at a time, reused for the next document); a document that
overruns LLAMAPG_DOCUMENT_MAX_SECONDS is stopped by killing the child, and fails alone with the limit
named. The child starts from a fork server that has the readers imported, so a new one costs
milliseconds, and a crash of a parser (a segfault in a native library) is one failed document too.
"""

from __future__ import annotations

import multiprocessing
import traceback

from assets.ingestion.readers.base import Budget, DocumentError, Extracted, ReadOptions, guarded

ISOLATED = frozenset({".pdf", ".docx", ".pptx"})
# Time for the child to start and send its result back, on top of the document's own limit.
GRACE_S = 2.0


def _serve(connection, options: ReadOptions) -> None:
    from assets.ingestion.readers import READERS

    while True:
        try:
            request = connection.recv()
        except EOFError:
            return
        suffix, data = request
        try:
            connection.send(("ok", guarded(lambda: READERS[suffix](data, Budget(options)))))
        except DocumentError as exc:
            connection.send(("failed", str(exc)))
        except BaseException:  # noqa: BLE001 - the parent reports the child's death
            traceback.print_exc()
            raise


class IsolatedReader:
    """Reads documents in a child process; `close()` (or `with`) stops it."""

    def __init__(self, options: ReadOptions) -> None:
        self.options = options
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(["assets.ingestion.readers"])
        self._process = None
        self._connection = None

    def __enter__(self) -> IsolatedReader:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def read(self, suffix: str, data: bytes) -> Extracted:
        if self._process is None or not self._process.is_alive():
            self._start()
        try:
            self._connection.send((suffix, data))
            if not self._connection.poll(self.options.max_seconds + GRACE_S):
                self.close()
                raise DocumentError(f"reading stopped after {self.options.max_seconds:g} s, the limit per document "
                                    "(LLAMAPG_DOCUMENT_MAX_SECONDS)")
            status, payload = self._connection.recv()
        except (EOFError, OSError) as exc:
            code = self._process.exitcode if self._process is not None else None
            self.close()
            raise DocumentError(f"the reader process died reading this document (exit code {code})") from exc
        if status == "failed":
            raise DocumentError(payload)
        return payload

    def _start(self) -> None:
        self.close()
        parent, child = self._context.Pipe()
        self._process = self._context.Process(target=_serve, args=(child, self.options), daemon=True,
                                              name="llamapg-reader")
        self._process.start()
        child.close()
        self._connection = parent

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self._process is not None:
            if self._process.is_alive():
                self._process.kill()
            self._process.join(timeout=10)
            self._process = None
