"""Embedders: one interface (`Embedder`), built from a registered model by `embedder_for`."""

from __future__ import annotations

from llamapg.embedders.base import Embedder, EmbeddingError
from llamapg.models import EmbeddingModel
from llamapg.settings import Settings, get_settings

__all__ = ["Embedder", "EmbeddingError", "credentials_problem", "embedder_for"]

OPENAI_URL = "https://api.openai.com/v1"


def credentials_problem(provider: str, name: str, base_url: str | None, settings: Settings | None = None) -> str | None:
    """Why a model could not authenticate, before anything is embedded with it; None when it can.
    OpenAI itself needs a key; a server of one's own (vLLM, TEI, Ollama) given by URL may not."""
    settings = settings or get_settings()
    if provider != "openai" or settings.openai_api_key:
        return None
    if (base_url or settings.openai_base_url or OPENAI_URL).rstrip("/") != OPENAI_URL:
        return None
    return (f"{name}: no API key for {OPENAI_URL}: set LLAMAPG_OPENAI_API_KEY (or OPENAI_API_KEY), "
            "or give --base-url for an OpenAI-compatible server that needs none")


def embedder_for(model: EmbeddingModel, settings: Settings | None = None) -> Embedder:
    settings = settings or get_settings()
    if model.provider == "local":
        from llamapg.embedders.local import LocalEmbedder

        return LocalEmbedder(
            model.name, model.model, model.dimensions, model.max_input_tokens, batch_size=settings.embed_batch_size
        )
    if model.provider == "openai":
        from llamapg.embedders.openai_compat import OpenAICompatibleEmbedder

        return OpenAICompatibleEmbedder(
            model.name,
            model.model,
            model.dimensions,
            model.max_input_tokens,
            base_url=model.base_url or settings.openai_base_url,
            api_key=settings.openai_api_key,
            timeout_s=settings.openai_timeout_s,
            max_retries=settings.openai_max_retries,
        )
    raise ValueError(f"model {model.name!r} has unknown provider {model.provider!r}")
