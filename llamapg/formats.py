"""The file types llamapg ingests, by extension."""

FILE_SUFFIXES = frozenset({".pdf", ".md", ".markdown", ".txt", ".html", ".htm"})
# One document per row.
DATASET_SUFFIXES = frozenset({".jsonl", ".parquet"})
SUPPORTED_SUFFIXES = FILE_SUFFIXES | DATASET_SUFFIXES
