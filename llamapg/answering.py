"""Answers from the context blocks: through an OpenAI-compatible chat model when one is configured,
otherwise extractive (the sentences that best match the question), cited as [n] either way."""

from __future__ import annotations

import re
from typing import Iterator, Sequence

import openai

from llamapg.context import ContextBlock
from llamapg.settings import Settings

_WORD = re.compile(r"\w+", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n{2,}")
_HEADING = re.compile(r"^#{1,6} .*$", re.MULTILINE)
# Words that carry no meaning for matching a question to a sentence.
_STOPWORDS = frozenset(
    "a an and are as at be by can do does for from how i in is it of on or that the this to was what "
    "when where which who why will with you your".split()
)


class AnswerError(RuntimeError):
    """The chat endpoint failed (502)."""


class AnswerTimeout(AnswerError):
    """The chat endpoint did not answer in time (504); the sources are still returned."""


def chat_configured(settings: Settings) -> bool:
    return bool(settings.llm_base_url and settings.llm_model)


def _client(settings: Settings) -> openai.OpenAI:
    # The client retries connection errors, 429 and 5xx with backoff, up to llm_max_retries.
    return openai.OpenAI(
        base_url=settings.llm_base_url,
        api_key=settings.llm_api_key or "not-needed",
        timeout=settings.llm_timeout_s,
        max_retries=settings.llm_max_retries,
    )


def _raise(exc: openai.APIError | openai.APITimeoutError, settings: Settings):
    where = f"chat model {settings.llm_model} at {settings.llm_base_url}"
    if isinstance(exc, openai.APITimeoutError):
        raise AnswerTimeout(f"{where} did not answer within {settings.llm_timeout_s:g}s") from exc
    raise AnswerError(f"{where} failed: {exc}") from exc


def generate(system: str, user: str, settings: Settings) -> str:
    try:
        response = _client(settings).chat.completions.create(
            model=settings.llm_model,
            messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
            temperature=0,
        )
    except (openai.APIError, openai.APITimeoutError) as exc:
        _raise(exc, settings)
    return (response.choices[0].message.content or "").strip()


def stream(system: str, user: str, settings: Settings) -> Iterator[str]:
    try:
        chunks = _client(settings).chat.completions.create(
            model=settings.llm_model,
            messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
            temperature=0,
            stream=True,
        )
        for chunk in chunks:
            if chunk.choices and chunk.choices[0].delta.content:
                yield chunk.choices[0].delta.content
    except (openai.APIError, openai.APITimeoutError) as exc:
        _raise(exc, settings)


def _words(text: str) -> set[str]:
    return {word for word in _WORD.findall(text.lower()) if word not in _STOPWORDS and len(word) > 1}


def extractive_answer(question: str, blocks: Sequence[ContextBlock], max_sentences: int = 3) -> str:
    """The sentences of the context that share the most words with the question, each cited."""
    if not blocks:
        return "No indexed passage matches this question."
    wanted = _words(question)
    scored = []
    for block in blocks:
        # Markdown headings name a topic; they are not answers.
        for position, sentence in enumerate(_SENTENCE_END.split(_HEADING.sub("", block.text))):
            sentence = " ".join(sentence.split())
            if len(sentence) < 20:
                continue
            overlap = len(wanted & _words(sentence))
            # Ties go to the better-ranked block, then to earlier sentences.
            scored.append((overlap, -block.number, -position, block.number, sentence))
    best = sorted(scored, reverse=True)[:max_sentences]
    if not best or best[0][0] == 0:
        first = " ".join(blocks[0].text.split())
        return f"{first[:400]} [1]"
    best.sort(key=lambda item: (item[3], -item[2]))
    return " ".join(f"{sentence} [{number}]" for *_, number, sentence in best)
