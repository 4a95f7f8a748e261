"""Dagster resources over llamapg's shared runtime (settings, database, embedders)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Optional

import dagster as dg
import psycopg

from llamapg import db
from llamapg.bootstrap import prepare_database
from llamapg.embedders import Embedder, embedder_for
from llamapg.embedders.local import use_threads
from llamapg.models import EmbeddingModel
from llamapg.settings import Settings, get_settings


class PostgresResource(dg.ConfigurableResource):
    """llamapg's database. Unset `database_url` means the LLAMAPG settings: DATABASE_URL or the embedded server."""

    database_url: Optional[str] = None

    def settings(self) -> Settings:
        base = get_settings()
        return base.model_copy(update={"database_url": self.database_url}) if self.database_url else base

    @contextmanager
    def connect(self) -> Iterator[psycopg.Connection]:
        """An autocommit connection: asset code commits each unit of work in its own transaction."""
        url = prepare_database(self.settings())
        with db.connection(url, autocommit=True) as conn:
            yield conn


class EmbedderResource(dg.ConfigurableResource):
    """Builds the embedder of a registered model; batch size and threads are tuned for throughput."""

    batch_size: Optional[int] = None
    threads: Optional[int] = None

    def resolved_batch_size(self) -> int:
        return self.batch_size or get_settings().embed_batch_size

    @staticmethod
    def requests_in_flight(model: EmbeddingModel) -> int:
        """A local model uses every core for one batch; a remote server takes several at once."""
        return 1 if model.provider == "local" else get_settings().embed_requests_in_flight

    def for_model(self, model: EmbeddingModel) -> Embedder:
        settings = get_settings()
        threads = self.threads if self.threads is not None else settings.embed_threads
        if model.provider == "local":
            use_threads(threads)
        return embedder_for(model, settings.model_copy(update={"embed_batch_size": self.resolved_batch_size()}))
