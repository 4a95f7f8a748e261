"""The prompt registry: named templates from a YAML file, validated, reloaded when the file changes."""

from __future__ import annotations

import logging
import string
import threading
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

log = logging.getLogger(__name__)
REQUIRED_FIELDS = {"context", "question"}


class PromptError(ValueError):
    """A prompt file or a prompt name that cannot be used; says what is wrong and where."""


class PromptTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str = ""
    system: str = Field(min_length=1)
    user: str = Field(min_length=1)

    @model_validator(mode="after")
    def _placeholders(self) -> PromptTemplate:
        for part in ("system", "user"):
            fields = _fields(getattr(self, part), part)
            unknown = fields - REQUIRED_FIELDS
            if unknown:
                raise ValueError(f"{part} uses unknown placeholder(s) {sorted(unknown)}; only {{context}} and {{question}} exist")
        missing = REQUIRED_FIELDS - _fields(self.system, "system") - _fields(self.user, "user")
        if missing:
            raise ValueError(f"missing placeholder(s) {sorted(missing)}: the templates must use {{context}} and {{question}}")
        return self

    def render(self, context: str, question: str) -> tuple[str, str]:
        values = {"context": context, "question": question}
        return self.system.format(**values), self.user.format(**values)


def _fields(template: str, part: str) -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise ValueError(f"{part} is not a valid template ({exc}); write literal braces as {{{{ and }}}}") from exc


class PromptFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    default: str
    prompts: dict[str, PromptTemplate] = Field(min_length=1)

    @model_validator(mode="after")
    def _default_exists(self) -> PromptFile:
        if self.default not in self.prompts:
            raise ValueError(f"default prompt {self.default!r} is not defined (defined: {', '.join(self.prompts)})")
        return self


def load_prompt_file(path: Path) -> PromptFile:
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError as exc:
        raise PromptError(f"prompt file not found: {path}") from exc
    except yaml.YAMLError as exc:
        raise PromptError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return PromptFile.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in error['loc']) or 'file'}: {error['msg']}" for error in exc.errors())
        raise PromptError(f"{path}: {problems}") from exc


@dataclass
class _Loaded:
    prompts: PromptFile
    mtime_ns: int


class PromptRegistry:
    """Validated at start (an invalid file stops the service with a clear error); afterwards a
    changed file is re-read on the next request, and an invalid edit keeps the last good version."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._loaded = _Loaded(load_prompt_file(path), path.stat().st_mtime_ns)
        self.last_error: str | None = None

    def _current(self) -> PromptFile:
        try:
            mtime = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return self._loaded.prompts
        if mtime != self._loaded.mtime_ns:
            with self._lock:
                if mtime != self._loaded.mtime_ns:
                    try:
                        self._loaded = _Loaded(load_prompt_file(self.path), mtime)
                        self.last_error = None
                        log.info("reloaded prompts from %s", self.path)
                    except PromptError as exc:
                        self._loaded = _Loaded(self._loaded.prompts, mtime)
                        self.last_error = str(exc)
                        log.error("keeping the previous prompts: %s", exc)
        return self._loaded.prompts

    def get(self, name: str | None) -> tuple[str, PromptTemplate]:
        prompts = self._current()
        chosen = name or prompts.default
        if chosen not in prompts.prompts:
            raise PromptError(f"unknown prompt {chosen!r}; available: {', '.join(sorted(prompts.prompts))}")
        return chosen, prompts.prompts[chosen]

    def all(self) -> tuple[str, dict[str, PromptTemplate]]:
        prompts = self._current()
        return prompts.default, dict(prompts.prompts)
