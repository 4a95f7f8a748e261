"""The resources every code path binds: the UI, the CLI and the tests alike."""

from assets.resources import EmbedderResource, PostgresResource


def default_resources(database_url: str | None = None) -> dict:
    return {"postgres": PostgresResource(database_url=database_url), "embedders": EmbedderResource()}
