"""Dagster assets: raw documents -> chunks -> embeddings -> HNSW index."""

from assets.embeddings.assets import embeddings
from assets.evaluation.assets import retrieval_evaluation
from assets.index.assets import hnsw_index
from assets.ingestion.assets import chunks, raw_documents

ALL_ASSETS = [raw_documents, chunks, embeddings, hnsw_index, retrieval_evaluation]

__all__ = ["ALL_ASSETS", "chunks", "embeddings", "hnsw_index", "raw_documents", "retrieval_evaluation"]
