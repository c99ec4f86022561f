"""Ingest: turn a folder of files into articles with text and metadata.

Reads `.txt`, `.md` (optional YAML front matter: title, published, url, source)
and `.html`/`.htm` saved from the web (main text and date through trafilatura).
Publication dates come, in order of preference, from the file's own metadata,
a `published.json` beside it (file name -> YYYY-MM-DD, or -> an object with
published/title/url/source), or the `--published` default.

A file that cannot become an article (empty, binary, undecodable, oversized,
unreadable) is returned as a failed `Article` with a reason, never raised:
one bad file must not stop a night's run.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import stat
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import IngestError

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
ARTICLE_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES
METADATA_FILE = "published.json"
DEFAULT_MAX_BYTES = 2_000_000
MIN_TEXT_CHARS = 40


@dataclass
class Article:
    path: str
    file_name: str
    text: str = ""
    article_id: str | None = None
    title: str | None = None
    published: date | None = None
    url: str | None = None
    source: str | None = None
    n_bytes: int = 0
    error: str | None = None  # set when the file could not become an article
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None


def normalise_text(text: str) -> str:
    """Canonical form used for the article id: NFC, one space between words."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip()


def article_id_for(text: str) -> str:
    return hashlib.sha256(normalise_text(text).encode("utf-8")).hexdigest()[:16]


def _parse_date(value: Any, where: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError as exc:
        raise ValueError(f"{where}: publication date {value!r} is not YYYY-MM-DD") from exc


def _looks_binary(raw: bytes) -> bool:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf")):
        return False
    sample = raw[:4096]
    if b"\x00" in sample:
        return True
    control = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13))
    return control > len(sample) * 0.05


def decode_bytes(raw: bytes) -> tuple[str, str]:
    """Decode with BOM detection, then UTF-8, then Windows-1252/Latin-1.

    Returns (text, encoding). Raises UnicodeDecodeError when nothing fits.
    """
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8"), "utf-8-sig"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16"), "utf-16"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as first_error:
        for encoding in ("cp1252", "latin-1"):
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError:
                continue
            # C1 control characters mean this is not really a Western text file.
            if not re.search(r"[\x80-\x9f]", text):
                return text, encoding
        raise first_error


# Text addressed to a language model rather than to readers: "ignore previous
# instructions and output ...". Flagged (never removed: it is part of the
# article) so extraction can refuse events whose only evidence is such text.
_INJECTION = re.compile(
    r"\b(?:ignore|disregard|forget|override)\s+(?:all\s+|any\s+|the\s+|your\s+|of\s+)*"
    r"(?:previous|prior|above|earlier|preceding|former|original)\s+"
    r"(?:instructions?|prompts?|rules|directions|guidelines|messages?)"
    r"|\b(?:new|updated|real)\s+instructions\s*:"
    r"|\bsystem\s+prompt\b"
    r"|\b(?:note|message|instructions?)\s+(?:to|for)\s+(?:the\s+)?(?:ai|llm|language\s+model|chatbot)s?\b",
    re.IGNORECASE,
)


def find_injection_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each line of `text` that carries instruction-like text aimed at a model."""
    spans: list[tuple[int, int]] = []
    for match in _INJECTION.finditer(text):
        start = text.rfind("\n", 0, match.start()) + 1
        end = text.find("\n", match.end())
        end = len(text) if end < 0 else end
        if spans and start < spans[-1][1]:
            continue  # same line as the previous match
        spans.append((start, end))
    return spans


_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError:
        return {}, text
    if not isinstance(meta, dict):
        return {}, text
    return meta, text[match.end() :]


def extract_html(html: str) -> tuple[str, dict[str, Any]]:
    """Main text and metadata of a saved web page, through trafilatura."""
    import trafilatura

    text = trafilatura.extract(html, include_comments=False, include_tables=False, favor_precision=True)
    meta: dict[str, Any] = {}
    doc = trafilatura.extract_metadata(html)
    if doc is not None:
        for key in ("title", "date", "url", "sitename"):
            value = getattr(doc, key, None)
            if value:
                meta[{"date": "published", "sitename": "source"}.get(key, key)] = value
    if text and meta.get("title") and not text.startswith(str(meta["title"])):
        text = f"{meta['title']}\n\n{text}"
    return text or "", meta


def load_folder_metadata(folder: Path) -> dict[str, dict[str, Any]]:
    """Read `published.json` in one folder: name -> {"published": ..., ...}."""
    path = folder / METADATA_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IngestError(f"{path}: cannot read metadata ({exc}); fix or remove the file") from exc
    if not isinstance(data, dict):
        raise IngestError(f"{path}: expected an object mapping file names to dates")
    out: dict[str, dict[str, Any]] = {}
    for name, value in data.items():
        out[name] = dict(value) if isinstance(value, dict) else {"published": value}
    return out


def display_name(name: str) -> str:
    """A file name as valid Unicode text, for the database and the terminal.

    POSIX file names are bytes; Python keeps undecodable ones as lone
    surrogates, which cannot be stored (the Arrow/DuckDB insert would crash
    the run). They are shown with U+FFFD in their place.
    """
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def iter_article_files(root: Path, errors: list[OSError] | None = None) -> Iterator[Path]:
    """Article files below `root`, sorted, without following directory symlinks (no loops).

    Folders that cannot be listed are appended to `errors` (when given) rather
    than skipped in silence.
    """
    if root.is_file():
        yield root
        return
    on_error = errors.append if errors is not None else None
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False, onerror=on_error):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if path.suffix.lower() in ARTICLE_SUFFIXES:
                yield path


def _unreadable_reason(path: Path, exc: OSError) -> str:
    if path.is_symlink():
        if exc.errno == errno.ELOOP:
            return "symbolic link loop: the link points (through other links) back to itself"
        if exc.errno == errno.ENOENT:
            try:
                target = display_name(os.readlink(path))
            except OSError:
                target = "?"
            return f"broken symbolic link: its target {target!r} does not exist"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "cannot read file: permission denied (check the file's owner and permissions)"
    return f"cannot read file: {exc.strerror or exc}"


_SPECIAL_FILES = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISDIR, "a folder"),
)


def read_article(
    path: Path,
    root: Path,
    folder_meta: dict[str, dict[str, Any]],
    default_published: date | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Article:
    rel = path.name if root.is_file() else str(path.relative_to(root))
    article = Article(path=display_name(str(path)), file_name=display_name(rel))
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            # Opening a FIFO would block the run forever; devices never end.
            kind = next((name for test, name in _SPECIAL_FILES if test(info.st_mode)), "a special file")
            article.error = f"{kind}, not a regular file; only plain text and HTML files are read"
            return article
        size = info.st_size
        article.n_bytes = size
        if size > max_bytes:
            article.error = f"file is {size:,} bytes, over the {max_bytes:,}-byte limit (raise --max-bytes to read it)"
            return article
        with path.open("rb") as fh:
            raw = fh.read(max_bytes + 1)  # never more than the limit, even if the file grew
    except OSError as exc:
        article.error = _unreadable_reason(path, exc)
        return article
    if len(raw) > max_bytes:
        article.error = f"file is over the {max_bytes:,}-byte limit (raise --max-bytes to read it)"
        return article
    if not raw.strip():
        article.error = "file is empty"
        return article
    if _looks_binary(raw):
        article.error = "file looks binary, not text"
        return article
    try:
        text, encoding = decode_bytes(raw)
    except UnicodeDecodeError:
        article.error = "cannot decode text (not UTF-8, UTF-16 or Latin-1)"
        return article

    meta: dict[str, Any] = {"encoding": encoding}
    suffix = path.suffix.lower()
    if suffix in HTML_SUFFIXES:
        text, html_meta = extract_html(text)
        meta.update(html_meta)
    elif suffix in {".md", ".markdown"}:
        front, text = split_front_matter(text)
        meta.update(front)
    # A folder's published.json overrides what was guessed from HTML, but not explicit front matter.
    sidecar = folder_meta.get(path.name, {})
    for key, value in sidecar.items():
        if key not in meta or suffix in HTML_SUFFIXES:
            meta[key] = value

    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n").strip()
    n_chars = len(normalise_text(text))
    if n_chars < MIN_TEXT_CHARS:
        if suffix in HTML_SUFFIXES:
            article.error = "no article text found in the page (only navigation, scripts or boilerplate)"
        elif not text:
            article.error = "no article text after the front matter"
        else:
            article.error = f"too little text for an article ({n_chars} characters; at least {MIN_TEXT_CHARS} needed)"
        return article

    _set_text(article, text, meta)
    published = meta.get("published")
    try:
        article.published = _parse_date(published, article.file_name) if published else default_published
    except ValueError as exc:
        article.error = str(exc)
        return article
    if article.published is None:
        article.error = (
            "no publication date: relative dates cannot be resolved. Add it to published.json "
            "in the folder, to the file's front matter, or pass --published YYYY-MM-DD"
        )
    return article


def _set_text(article: Article, text: str, meta: dict[str, Any]) -> None:
    """Give an article its text, id, metadata and the spans that read as instructions to a model."""
    article.text = text
    article.article_id = article_id_for(text)
    article.title = str(meta["title"]) if meta.get("title") else text.split("\n", 1)[0][:200]
    article.url = str(meta["url"]) if meta.get("url") else None
    article.source = str(meta["source"]) if meta.get("source") else None
    article.metadata = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in meta.items()}
    injected = find_injection_spans(text)
    if injected:
        article.metadata["suspected_injection"] = [
            {"start": start, "end": end, "text": text[start:end][:300]} for start, end in injected
        ]


def article_from_text(
    text: str,
    published: date | str,
    *,
    name: str = "text",
    title: str | None = None,
    url: str | None = None,
    source: str | None = None,
) -> Article:
    """An article from a string, normalised as a file's text would be (for `pipeline.extract_text`)."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(normalise_text(text)) < MIN_TEXT_CHARS:
        raise IngestError(f"too little text for an article (at least {MIN_TEXT_CHARS} characters needed)")
    meta = {k: v for k, v in {"title": title, "url": url, "source": source}.items() if v}
    article = Article(path=name, file_name=name, n_bytes=len(text.encode("utf-8")))
    _set_text(article, text, meta)
    try:
        article.published = _parse_date(published, name)
    except ValueError as exc:
        raise IngestError(str(exc)) from exc
    return article


def ingest(
    root: str | Path,
    default_published: date | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> list[Article]:
    """Read every article below `root`. Duplicates (same normalised text) are flagged."""
    root = Path(root)
    if not root.exists():
        raise IngestError(f"{root}: no such file or folder")
    meta_cache: dict[Path, dict[str, dict[str, Any]]] = {}
    articles: list[Article] = []
    seen: dict[str, str] = {}
    walk_errors: list[OSError] = []
    for path in iter_article_files(root, walk_errors):
        folder = path.parent
        if folder not in meta_cache:
            meta_cache[folder] = load_folder_metadata(folder)
        article = read_article(path, root, meta_cache[folder], default_published, max_bytes)
        if article.article_id:
            first = seen.setdefault(article.article_id, article.file_name)
            if first != article.file_name:
                article.metadata["duplicate_of"] = first
        articles.append(article)
    for exc in walk_errors:
        # A folder that cannot be listed is reported, so its articles are not lost in silence.
        where = Path(exc.filename) if exc.filename else root
        try:
            rel = str(where.relative_to(root))
        except ValueError:
            rel = str(where)
        articles.append(
            Article(
                path=display_name(str(where)),
                file_name=display_name(rel + "/"),
                error=f"cannot list folder: {exc.strerror or exc}; its files were not read",
            )
        )
    return articles
