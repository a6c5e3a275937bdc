"""Background runs (`%cascade_run --bg`): a live widget with status, elapsed time,
the latest output lines and a Stop button.

The magic returns the running `Run` at once, and `.wait()` and `.stop()` work
from later cells. Runs still running when the kernel shuts down are stopped
(and so recorded as `interrupted`) by an `atexit` handler.
"""

from __future__ import annotations

import atexit
import html
import logging
import threading
import time

from cascade_ext.streaming import OutputTail

logger = logging.getLogger(__name__)

OUTPUT_LINES = 200
UPDATE_INTERVAL = 0.5
SHUTDOWN_WAIT = 10.0

_running: set = set()
_running_lock = threading.Lock()
_views: dict = {}


def start_in_background(launch, widget: bool = True):
    """Start a run with `launch(on_stdout=..., on_stderr=...)`, show its widget and return the Run.

    Without `widget` (a terminal IPython, which cannot show one) the output
    goes to the run's log only, and one printed line gives the log's path.
    """
    if not widget:
        return _start_without_widget(launch)

    from IPython.display import display

    view = RunView()
    run = launch(on_stdout=view.stdout, on_stderr=view.stderr)
    _track(run)
    view.attach(run)
    _views[run.id] = view
    display(view.widget)
    logger.info("Run %s started in the background: %s", run.id, run.script)
    return run


def _start_without_widget(launch):
    run = launch()
    _track(run)
    threading.Thread(target=_untrack_when_done, args=(run,), name=f"cascade-bg-{run.id}", daemon=True).start()
    print(f"Run {run.id} started in the background; its output goes to {run.path / 'logs' / 'cascade_run.log'}. "
          f"Use .wait() to wait for it and .stop() to stop it.")
    logger.info("Run %s started in the background: %s", run.id, run.script)
    return run


def _untrack_when_done(run) -> None:
    run.wait()
    _untrack(run)


def view_of(run) -> RunView | None:
    """Return the widget view of a background run started in this kernel, or None."""
    return _views.get(run.id)


class RunView:
    """The widget of one background run, refreshed by a thread until the run ends."""

    def __init__(self, lines: int = OUTPUT_LINES, update_interval: float = UPDATE_INTERVAL):
        import ipywidgets as widgets

        self.update_interval = update_interval
        self.header = widgets.HTML()
        self.output = widgets.Output(layout=widgets.Layout(max_height="24em", overflow="auto"))
        self.stop_button = widgets.Button(description="Stop", button_style="danger", icon="stop")
        self.widget = widgets.VBox([widgets.HBox([self.header, self.stop_button]), self.output])
        self.run = None
        self.tail = OutputTail(lines)
        self.stdout = self.tail.stdout
        self.stderr = self.tail.stderr
        self._started = time.monotonic()

    def attach(self, run) -> None:
        """Bind the widget to its run and start refreshing it."""
        self.run = run
        self.stop_button.on_click(self._on_stop)
        self._refresh()
        threading.Thread(target=self._follow, name=f"cascade-view-{run.id}", daemon=True).start()

    def _on_stop(self, _button) -> None:
        self.stop_button.disabled = True
        self.stop_button.description = "Stopping"
        self.run.stop()

    def _follow(self) -> None:
        while self.run.poll() is None:
            time.sleep(self.update_interval)
            self._refresh()
        self._refresh()
        _untrack(self.run)

    def _refresh(self) -> None:
        self.header.value = self._header_html()
        if self.run.poll() is not None:
            self.stop_button.disabled = True
            self.stop_button.description = "Stop"

        text = self.tail.take_output()
        if text is None:
            return
        # Replacing the whole output list keeps the widget's state bounded,
        # where appending each chunk would grow it with the run's output.
        self.output.outputs = ({"output_type": "stream", "name": "stdout", "text": text},)

    def _header_html(self) -> str:
        run = self.run
        elapsed = run.duration if run.poll() is not None else time.monotonic() - self._started
        from cascade_ext.display import format_duration

        return (
            f"<b>{html.escape(str(run.id))}</b> {html.escape(str(getattr(run.script, 'name', run.script)))}"
            f" &middot; <b>{html.escape(str(run.status))}</b> &middot; {format_duration(elapsed)}"
        )


# Stopping runs at kernel shutdown ------------------------------------------


def _track(run) -> None:
    with _running_lock:
        if not _running:
            _register_shutdown_hook()
        _running.add(run)


def _untrack(run) -> None:
    with _running_lock:
        _running.discard(run)


_hook_registered = False


def _register_shutdown_hook() -> None:
    global _hook_registered
    if not _hook_registered:
        atexit.register(stop_all)
        _hook_registered = True


def stop_all(timeout: float = SHUTDOWN_WAIT) -> None:
    """Stop every background run that is still going and wait for each to end."""
    with _running_lock:
        runs = list(_running)
    for run in runs:
        if run.poll() is None:
            logger.info("Kernel shutdown: stopping background run %s", run.id)
            run.stop()
    for run in runs:
        try:
            run.wait(timeout=timeout)
        except Exception:  # at shutdown, log the error and stop the next run
            logger.exception("Background run %s did not end after being stopped", run.id)
