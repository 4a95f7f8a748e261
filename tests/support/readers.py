"""Call a reader as the scan does, with a fresh budget."""

from assets.ingestion.readers import Budget, Extracted, ReadOptions


def read(reader, data: bytes, **options) -> Extracted:
    return reader(data, Budget(ReadOptions(**options)))
