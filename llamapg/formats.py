"""The file types llamapg ingests, by extension (each read by assets/ingestion/readers)."""

FILE_SUFFIXES = frozenset({".pdf", ".md", ".markdown", ".txt", ".html", ".htm", ".docx", ".pptx", ".eml"})
# One document per row.
DATASET_SUFFIXES = frozenset({".jsonl", ".parquet"})
SUPPORTED_SUFFIXES = FILE_SUFFIXES | DATASET_SUFFIXES
