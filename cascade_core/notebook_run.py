"""The child side of a notebook run: execute a notebook headless and stream its cell output.

`cascade run nb.ipynb` starts this module's `main()` in the child instead
of the script bootstrap. It executes the notebook kept in the run folder
(`CASCADE_SCRIPT_SOURCE`, with the overrides written into its cells) in a
fresh kernel of the same Python through nbclient. Cell output is written to
this process's stdout and stderr as it arrives, so the runner captures and
logs it like a script's. The executed notebook is saved as `output.ipynb`
in the run folder, also when a cell fails or the run is interrupted.

The kernel starts in a session of its own, so the runner's signals do not
reach it. This process passes an interrupt on to the kernel, and a kernel
whose parent process dies exits by itself (ipykernel watches its parent).
"""

from __future__ import annotations

import os
import signal
import sys

OUTPUT_NOTEBOOK = "output.ipynb"


def main() -> None:
    """Execute the run's notebook and exit.

    The exit status is 0, or 1 when a cell failed. An interrupted run exits by SIGINT.
    """
    import nbformat
    from nbclient.exceptions import CellExecutionError, DeadKernelError

    source = os.environ["CASCADE_SCRIPT_SOURCE"]
    output = os.path.join(os.environ["CASCADE_RUN_DIR"], OUTPUT_NOTEBOOK)
    notebook = nbformat.read(source, as_version=4)
    client = _make_client(notebook)
    interrupt = _Interrupt(client, notebook, output)
    client.on_notebook_start = interrupt.install

    try:
        client.execute()
    except (CellExecutionError, DeadKernelError):
        _save(notebook, output)
        interrupt.exit_if_requested()
        sys.exit(1)
    _save(notebook, output)
    interrupt.exit_if_requested()


class _Interrupt:
    """Signal handler that stops a notebook run on SIGINT or SIGTERM.

    The first signal interrupts the kernel, so the running cell raises
    KeyboardInterrupt and nbclient ends the run normally, saving the outputs.
    A second signal kills the kernel and exits at once.
    """

    def __init__(self, client, notebook, output: str):
        self._client = client
        self._notebook = notebook
        self._output = output
        self.requested = 0

    def install(self, notebook=None) -> None:
        """Take over SIGINT and SIGTERM from nbclient, whose own handlers shut the kernel down at once."""
        import asyncio

        loop = asyncio.get_event_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(signum, self.handle, signum)
            except (RuntimeError, NotImplementedError):  # not the main thread, or Windows
                return

    def handle(self, signum: int) -> None:
        self.requested += 1
        kernel = _kernel_pid(self._client)
        if self.requested == 1 and kernel is not None:
            _signal_group(kernel, signal.SIGINT)
            return
        if kernel is not None:
            _signal_group(kernel, signal.SIGKILL)
        _save(self._notebook, self._output)
        os._exit(128 + signum)

    def exit_if_requested(self) -> None:
        if not self.requested:
            return
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)


def _kernel_pid(client) -> int | None:
    manager = getattr(client, "km", None)
    provisioner = getattr(manager, "provisioner", None)
    process = getattr(provisioner, "process", None)
    return getattr(process, "pid", None)


def _signal_group(pid: int, signum: int) -> None:
    # The kernel leads a session and process group of its own.
    try:
        os.killpg(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _make_client(notebook):
    from nbclient import NotebookClient

    class StreamingClient(NotebookClient):
        """A client that also writes each output to this process's stdout or stderr as it arrives."""

        def output(self, outs, msg, display_id, cell_index):
            _echo_output(msg)
            return super().output(outs, msg, display_id, cell_index)

    # "python3" is ipykernel's own kernel, which jupyter_client starts with this interpreter.
    return StreamingClient(
        notebook,
        timeout=None,
        kernel_name="python3",
        # The kernel's own start-up warnings are not output of the notebook.
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
        resources={"metadata": {"path": os.getcwd()}},
    )


def _echo_output(msg: dict) -> None:
    kind = msg["header"]["msg_type"]
    content = msg["content"]
    if kind == "stream":
        _write(sys.stderr if content.get("name") == "stderr" else sys.stdout, content.get("text", ""))
    elif kind == "error":
        _write(sys.stderr, "\n".join(content.get("traceback", [])) + "\n")
    elif kind in ("execute_result", "display_data"):
        text = content.get("data", {}).get("text/plain")
        if text:
            _write(sys.stdout, text + "\n")


def _write(stream, text: str) -> None:
    stream.write(text)
    stream.flush()


def _save(notebook, path: str) -> None:
    import nbformat

    nbformat.write(notebook, path)
