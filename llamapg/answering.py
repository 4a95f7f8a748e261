"""Answers from retrieved sources: through an OpenAI-compatible chat model when one is configured,
otherwise extractive (the source sentences that best match the question), cited as [n] either way."""

from __future__ import annotations

import re
from typing import Sequence

import openai

from llamapg.retrieval import Source
from llamapg.settings import Settings

SYSTEM_PROMPT = (
    "You answer questions using only the numbered sources provided. Cite every claim with the "
    "source number in square brackets, like [1] or [2][3]. If the sources do not contain the "
    "answer, say that you do not know."
)
_WORD = re.compile(r"\w+", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n{2,}")
_HEADING = re.compile(r"^#{1,6} .*$", re.MULTILINE)
# Words that carry no meaning for matching a question to a sentence.
_STOPWORDS = frozenset(
    "a an and are as at be by can do does for from how i in is it of on or that the this to was what "
    "when where which who why will with you your".split()
)


class AnswerError(RuntimeError):
    pass


def format_context(sources: Sequence[Source]) -> str:
    blocks = []
    for number, source in enumerate(sources, start=1):
        where = f"{source.title or source.source}" + (f", page {source.page}" if source.page else "")
        blocks.append(f"[{number}] ({where})\n{source.text}")
    return "\n\n".join(blocks)


def generate(question: str, sources: Sequence[Source], settings: Settings) -> str:
    client = openai.OpenAI(
        base_url=settings.llm_base_url,
        api_key=settings.llm_api_key or "not-needed",
        timeout=settings.llm_timeout_s,
        max_retries=settings.llm_max_retries,
    )
    try:
        response = client.chat.completions.create(
            model=settings.llm_model,
            messages=[
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": f"Sources:\n\n{format_context(sources)}\n\nQuestion: {question}"},
            ],
            temperature=0,
        )
    except openai.APIError as exc:
        raise AnswerError(f"chat model {settings.llm_model} at {settings.llm_base_url} failed: {exc}") from exc
    return (response.choices[0].message.content or "").strip()


def _words(text: str) -> set[str]:
    return {word for word in _WORD.findall(text.lower()) if word not in _STOPWORDS and len(word) > 1}


def extractive_answer(question: str, sources: Sequence[Source], max_sentences: int = 3) -> str:
    """The sentences of the top sources that share the most words with the question, each cited."""
    if not sources:
        return "No indexed passage matches this question."
    wanted = _words(question)
    scored = []
    for number, source in enumerate(sources[:5], start=1):
        # Markdown headings name a topic; they are not answers.
        for position, sentence in enumerate(_SENTENCE_END.split(_HEADING.sub("", source.text))):
            sentence = " ".join(sentence.split())
            if len(sentence) < 20:
                continue
            overlap = len(wanted & _words(sentence))
            # Ties go to the better-ranked source, then to earlier sentences.
            scored.append((overlap, -number, -position, number, sentence))
    best = sorted(scored, reverse=True)[:max_sentences]
    if not best or best[0][0] == 0:
        first = " ".join(sources[0].text.split())
        return f"{first[:400]} [1]"
    best.sort(key=lambda item: (item[3], -item[2]))
    return " ".join(f"{sentence} [{number}]" for *_, number, sentence in best)
