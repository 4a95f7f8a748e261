"""Dagster assets: raw documents -> chunks -> embeddings -> HNSW index."""

from assets.embeddings.assets import embeddings
from assets.index.assets import hnsw_index
from assets.ingestion.assets import chunks, raw_documents

ALL_ASSETS = [raw_documents, chunks, embeddings, hnsw_index]

__all__ = ["ALL_ASSETS", "chunks", "embeddings", "hnsw_index", "raw_documents"]
