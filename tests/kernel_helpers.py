"""A real IPython kernel of this interpreter, driven by nbclient, for tests.

`NotebookKernel` starts one kernel (share it per test module: kernels are
slow to start) and runs cells in it one call at a time. Each call returns a
`CellResult` with the cell's final outputs, as a saved notebook would hold
them, plus every output message with its arrival time, for tests of live
output. The kernel's environment drops `PYTHONUNBUFFERED`, as on users'
machines, and puts the run store in a folder of the test's own.

    with NotebookKernel(tmp_path) as kernel:
        result = kernel.run("%load_ext cascade_ext", "%cascade_run say.py --PROMPT hi")
        assert result.stdout == "'hi'\\n"
"""

from __future__ import annotations

import ast
import asyncio
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient

KERNEL_NAME = "cascade-test"
CELL_TIMEOUT = 180
OUTPUT_MESSAGES = {"stream", "display_data", "update_display_data", "execute_result", "error"}


def kernel_environment(store: Path, extra: dict | None = None) -> dict:
    """Return the environment for a test kernel: this one without PYTHONUNBUFFERED, with CASCADE_ROOT."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONUNBUFFERED"}
    env["CASCADE_ROOT"] = str(store)
    env.update(extra or {})
    return env


def write_kernelspec(folder: Path) -> Path:
    """Write a kernelspec that starts ipykernel with this interpreter, and return its folder."""
    spec = folder / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "cascade test kernel", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel), encoding="utf-8")
    return spec.parent


@dataclass
class OutputEvent:
    """One output message of a cell, with the monotonic time it arrived at."""

    time: float
    msg_type: str
    content: dict


@dataclass
class CellResult:
    """What one cell produced: final outputs (as saved) and every output message in order."""

    outputs: list
    events: list = field(default_factory=list)
    started: float = 0.0
    ended: float = 0.0

    def text(self, name: str) -> str:
        """Return the cell's `name` stream ("stdout" or "stderr") as saved, all outputs joined."""
        return "".join(out.text for out in self.outputs if out.output_type == "stream" and out.name == name)

    @property
    def stdout(self) -> str:
        return self.text("stdout")

    @property
    def stderr(self) -> str:
        return self.text("stderr")

    @property
    def error(self):
        """The cell's error output, or None."""
        errors = [out for out in self.outputs if out.output_type == "error"]
        return errors[0] if errors else None

    def plain(self, kind: str = "execute_result") -> list[str]:
        """Return the text/plain data of each output of `kind` (display_data or execute_result)."""
        return [out.data.get("text/plain", "") for out in self.outputs if out.output_type == kind]

    def value(self):
        """Return the cell's result (its text/plain) read back as a Python literal."""
        return ast.literal_eval(self.plain()[0])

    def html(self) -> list[str]:
        """Return the text/html data of every display_data and execute_result output."""
        return [out.data["text/html"] for out in self.outputs
                if out.output_type in ("display_data", "execute_result") and "text/html" in out.data]

    def first_time(self, text: str) -> float | None:
        """Return when output containing `text` first arrived, or None."""
        for event in self.events:
            if text in _event_text(event):
                return event.time
        return None


def _event_text(event: OutputEvent) -> str:
    content = event.content
    if event.msg_type == "stream":
        return content.get("text", "")
    if event.msg_type == "error":
        return "\n".join(content.get("traceback", []))
    return content.get("data", {}).get("text/plain", "")


class _RecordingClient(NotebookClient):
    """nbclient's client, also recording each output message and its arrival time."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.events: list[OutputEvent] = []
        self.on_event = None

    def process_message(self, msg, cell, cell_index):
        msg_type = msg["header"]["msg_type"]
        if msg_type in OUTPUT_MESSAGES:
            event = OutputEvent(time.monotonic(), msg_type, msg["content"])
            self.events.append(event)
            if self.on_event is not None:
                self.on_event(event)
        return super().process_message(msg, cell, cell_index)


class NotebookKernel:
    """One real kernel running in `cwd`; cells run through nbclient, one `run` call at a time.

    Args:
        cwd: the kernel's working directory.
        store: the run store folder (default: `cwd/.cascade`).
        env: extra environment variables for the kernel.
        timeout: seconds a cell may take before nbclient fails it.
        setup: code run once the kernel has started, such as `%load_ext cascade_ext`.
    """

    def __init__(self, cwd: Path, store: Path | None = None, env: dict | None = None, timeout: int = CELL_TIMEOUT,
                 setup: str | None = None):
        self.cwd = Path(cwd)
        self.setup = setup
        self.store = Path(store) if store else self.cwd / ".cascade"
        self.env = kernel_environment(self.store, env)
        self.timeout = timeout
        self.notebook = nbformat.v4.new_notebook()
        self.client = None

    def __enter__(self) -> NotebookKernel:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def start(self) -> None:
        """Start the kernel and its client."""
        spec_dir = write_kernelspec(self.cwd / ".kernelspec")
        km = AsyncKernelManager(kernel_name=KERNEL_NAME,
                                kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(spec_dir)]))
        self.client = _RecordingClient(
            self.notebook, km=km, timeout=self.timeout, allow_errors=True,
            resources={"metadata": {"path": str(self.cwd)}},
        )
        self.client.start_new_kernel(env=self.env)
        self.client.start_new_kernel_client()
        if self.setup:
            result = self.run(self.setup)
            if result.error is not None:
                raise RuntimeError(f"Kernel setup code failed: {result.error.ename}: {result.error.evalue}")

    def run_folders(self) -> list[Path]:
        """Return the run folders in this kernel's run store, oldest first."""
        return sorted((self.store / "runs").glob("*"))

    def stop(self) -> None:
        """Shut the kernel down gracefully (its atexit handlers run)."""
        if self.client is None:
            return
        # NOTE: nbclient (0.10) has no public call that shuts down a kernel it
        # started outside `execute()`; this is the one `execute()` uses.
        self.client._cleanup_kernel()
        self.client = None

    @property
    def pid(self) -> int:
        """The kernel process's pid."""
        return self.client.km.provisioner.process.pid

    def run(self, *sources: str, on_event=None) -> CellResult:
        """Run each source as one cell, in order; return the result of the last.

        `on_event(kernel, event)` is called for each output message as it
        arrives, in the client's event loop, so it may call `interrupt()`.
        """
        result = None
        for source in sources:
            result = self._run_cell(source, on_event)
        return result

    def run_each(self, *sources: str) -> list[CellResult]:
        """Run each source as one cell; return every cell's result."""
        return [self._run_cell(source, None) for source in sources]

    def interrupt(self) -> None:
        """Interrupt the kernel through its KernelManager (SIGINT to the kernel)."""
        coroutine = self.client.km.interrupt_kernel()
        try:
            asyncio.get_running_loop().create_task(coroutine)
        except RuntimeError:
            asyncio.run(coroutine)

    def _run_cell(self, source: str, on_event) -> CellResult:
        cell = nbformat.v4.new_code_cell(source)
        self.notebook.cells.append(cell)
        index = len(self.notebook.cells) - 1
        self.client.events = []
        self.client.on_event = None if on_event is None else (lambda event: on_event(self, event))

        started = time.monotonic()
        self.client.execute_cell(cell, index)
        ended = time.monotonic()
        return CellResult(outputs=list(cell.outputs), events=list(self.client.events), started=started, ended=ended)


def write_scripts(folder: Path, scripts: dict[str, str]) -> Path:
    """Write each `name: source` of `scripts` into `folder` as UTF-8 and return `folder`."""
    for name, source in scripts.items():
        (Path(folder) / name).write_text(source, encoding="utf-8")
    return Path(folder)


def execute_notebook(path: Path, cwd: Path, output: Path, store: Path, timeout: int = CELL_TIMEOUT):
    """Execute a notebook file in a fresh test kernel and save the executed copy to `output`."""
    notebook = nbformat.read(path, as_version=4)
    spec_dir = write_kernelspec(Path(cwd) / ".kernelspec")
    km = AsyncKernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(spec_dir)]))
    client = NotebookClient(notebook, km=km, timeout=timeout, resources={"metadata": {"path": str(cwd)}})
    client.execute(env=kernel_environment(store))
    nbformat.write(notebook, output)
    return notebook


def process_gone(pid: int) -> bool:
    """Return True when `pid` no longer exists or is a zombie (PID 1 here does not reap orphans)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def wait_until(predicate, timeout: float, interval: float = 0.1) -> bool:
    """Poll `predicate` until it returns True or `timeout` seconds pass; return its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
