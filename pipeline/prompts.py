"""Prompts as versioned files: `prompts/<name>.md` with YAML front matter.

Front matter keys: name, description, strategy (which extraction design runs
the prompt) and optional generation settings (max_tokens, max_retries). The
body is the system prompt. A run records the prompt's name and the SHA-256 of
the whole file, so any edit to wording or settings is a new, comparable prompt.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import PromptError
from pipeline.paths import prompts_dir

PROMPTS_DIR = prompts_dir()
DEFAULT_PROMPT = "default"
# The extraction designs a prompt may name, and the sections each needs. The
# functions live in `pipeline.extraction.article.strategies()` (a test keeps the two
# in step); checking here makes a bad name an error before any run starts.
STRATEGY_SECTIONS: dict[str, tuple[str, ...]] = {
    "single": (),
    "staged": ("system", "task"),
    "peer": (),
}


@dataclass(frozen=True)
class Prompt:
    name: str
    description: str
    strategy: str
    text: str
    hash: str
    path: str
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def short_hash(self) -> str:
        return self.hash[:12]

    def _sections(self) -> dict[str, str]:
        parts = re.split(r"^=== *(\w+) *=== *$", self.text, flags=re.MULTILINE)
        return {parts[i]: parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}

    def has_section(self, name: str) -> bool:
        return name in self._sections()

    def section(self, name: str) -> str:
        """A named part of a multi-stage prompt, marked in the file by a line `=== name ===`."""
        sections = self._sections()
        if name not in sections:
            raise PromptError(f"{self.path}: strategy {self.strategy!r} needs a section '=== {name} ==='")
        return sections[name]


def available_prompts(folder: Path = PROMPTS_DIR) -> list[str]:
    return sorted(p.stem for p in folder.glob("*.md"))


def load_prompt(name_or_path: str, folder: Path = PROMPTS_DIR) -> Prompt:
    path = Path(name_or_path)
    if not (path.suffix == ".md" and path.is_file()):
        path = folder / f"{name_or_path}.md"
    if not path.is_file():
        raise PromptError(
            f"no prompt named {name_or_path!r}; available: {', '.join(available_prompts(folder)) or 'none'} "
            "(or pass the path of a .md prompt file)"
        )
    raw = path.read_text(encoding="utf-8")
    if not raw.startswith("---"):
        raise PromptError(f"{path}: a prompt file starts with YAML front matter (--- name: ... ---)")
    _, front, body = raw.split("---", 2)
    meta = yaml.safe_load(front) or {}
    for key in ("name", "description", "strategy"):
        if key not in meta:
            raise PromptError(f"{path}: front matter needs {key!r}")
    settings = {k: v for k, v in meta.items() if k not in ("name", "description", "strategy")}
    strategy = str(meta["strategy"])
    if strategy not in STRATEGY_SECTIONS:
        raise PromptError(
            f"{path}: unknown strategy {strategy!r} in the front matter; choose one of {', '.join(STRATEGY_SECTIONS)}"
        )
    prompt = Prompt(
        name=str(meta["name"]),
        description=str(meta["description"]),
        strategy=strategy,
        text=body.strip() + "\n",
        hash=hashlib.sha256(raw.encode("utf-8")).hexdigest(),
        path=str(path),
        settings=settings,
    )
    for section in STRATEGY_SECTIONS[strategy]:
        prompt.section(section)  # raises PromptError naming the missing section
    return prompt
