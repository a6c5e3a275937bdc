"""A real JupyterLab on 127.0.0.1 driven by Playwright with the system Chromium.

`JupyterLab` starts the server with a free port, a random token and a
temporary root folder, and keeps every Jupyter setting inside a temporary
home so the developer's own settings never leak in. `open_notebook` writes a
notebook into the root and opens it in a headless Chromium page.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
START_TIMEOUT = 120.0


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class JupyterLab:
    """A JupyterLab server process serving `root` on 127.0.0.1.

    Args:
        root: the folder the server serves; notebooks and scripts go there.
        home: a scratch folder for Jupyter's config, data, runtime and
            IPython folders.
        env: extra environment variables for the server and its kernels.
    """

    def __init__(self, root: Path, home: Path, env: dict | None = None):
        self.root = root
        self.home = home
        self.extra_env = dict(env or {})
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.process: subprocess.Popen | None = None
        self.log_path = home / "jupyterlab.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        """Return the server's environment: isolated Jupyter folders, no PYTHONUNBUFFERED, then `env`."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "CASCADE"))}
        env.pop("PYTHONUNBUFFERED", None)
        env.update(
            JUPYTER_CONFIG_DIR=str(self.home / "config"),
            JUPYTER_DATA_DIR=str(self.home / "data"),
            JUPYTER_RUNTIME_DIR=str(self.home / "runtime"),
            IPYTHONDIR=str(self.home / "ipython"),
        )
        env.update(self.extra_env)
        return env

    def write_settings(self) -> None:
        """Turn off the news prompt, which would otherwise cover part of the page."""
        folder = self.home / "config" / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))

    def start(self) -> None:
        """Start the server and wait until /api/status responds."""
        self.write_settings()
        command = [
            sys.executable, "-m", "jupyter", "lab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            "--ServerApp.open_browser=False",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]
        if os.geteuid() == 0:
            command.append("--allow-root")
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            command, cwd=self.root, env=self.environment(),
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        log.close()
        self.wait_ready()

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited early:\n{self.log_text()}")
            if self.api_status() is not None:
                return
            time.sleep(0.3)
        raise TimeoutError(f"JupyterLab did not respond within {START_TIMEOUT} s:\n{self.log_text()}")

    def api_status(self) -> dict | None:
        request = urllib.request.Request(
            f"{self.url}/api/status", headers={"Authorization": f"token {self.token}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                return json.load(response)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """Stop the server and its kernels: SIGTERM to its session, SIGKILL after a grace period."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def notebook_url(self, name: str) -> str:
        """Return the URL that opens notebook `name` alone: `reset` drops the tabs restored from the last page."""
        return f"{self.url}/lab/tree/{name}?reset&token={self.token}"


@contextlib.contextmanager
def running_lab(root: Path, home: Path):
    """Run a JupyterLab serving `root`, with its run store in `root/.cascade`, and stop it afterwards."""
    server = JupyterLab(root, home, env={"CASCADE_ROOT": str(root / ".cascade")})
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def browser_page(width: int = 1280, height: int = 1000):
    """Open a page of the given viewport size in a fresh headless Chromium, and close the browser afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            yield browser.new_page(viewport={"width": width, "height": height})
        finally:
            browser.close()


def write_notebook(path: Path, *sources: str) -> None:
    """Write a notebook of code cells with the given sources, using the python3 kernel."""
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python",
    }
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    nbformat.write(notebook, path)


def launch_chromium(playwright):
    """Launch the system Chromium headless through Playwright."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)


def run_all_cells(page, attempts: int = 4) -> None:
    """Run every cell of the notebook open in `page` through the Run menu.

    A request sent while the kernel is still connecting can be lost, so the
    command is repeated until the first cell shows an execution count.
    """
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    first_prompt = page.locator(".jp-Notebook .jp-Cell .jp-InputPrompt").first
    for _ in range(attempts):
        page.wait_for_selector("text=| Idle", timeout=120_000)
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        try:
            page.wait_for_function(
                "el => /\\[(\\d+|\\*)\\]/.test(el.textContent)", arg=first_prompt.element_handle(),
                timeout=15_000,
            )
            return
        except PlaywrightTimeoutError:
            continue
    raise AssertionError(f"the notebook's cells did not start running after {attempts} attempts")
