"""The widget panel of a script's config: `%cascade_panel SCRIPT` or `cascade_ext.panel(SCRIPT)`.

The panel is built from the static config, so the script is never executed
to build it. It shows one control per field (see `cascade_ext.widgets`), the
buttons Run, Stop, Reset and Reload, a table of the runs launched from the
panel, and the live output of the selected run.

Run launches a tracked background run with the values that differ from the
defaults. Each run's reader threads only append output to a bounded tail.
One refresher thread per panel updates the table and the output view every
`update_interval` seconds while runs are running. ipywidgets sends changes made
from a thread to the frontend.
"""

from __future__ import annotations

import html
import logging
import threading
import time

from cascade_core.errors import CascadeError, UnknownKeyError, require
from cascade_ext import widgets as fieldwidgets
from cascade_ext.panel_sweep import SweepSection

logger = logging.getLogger(__name__)

OUTPUT_LINES = 200
UPDATE_INTERVAL = 0.5
ERROR_COLOR = "#c62828"


def panel(script, **options) -> Panel:
    """Build the widget panel of a script's config.

    Example::

        In [1]: import cascade_ext
        In [2]: cascade_ext.panel("train.py")

    Args:
        script: Path of the script (`.py`) or notebook (`.ipynb`).
        **options: See `Panel`.

    Raises:
        ScriptNotFoundError: If the script does not exist.
        ScriptError: If its config cannot be read.
        ValueError: If `output_lines` or `update_interval` is not above 0.
        MissingDependencyError: If ipywidgets is not installed.
        InvalidBoundsError: If a `# range:` comment is malformed or does not fit its field.
    """
    return Panel(script, **options)


class Panel:
    """A script's config as widgets, with buttons that launch and control tracked runs.

    Args:
        script: Path of the script. Runs start it as given, from the kernel's cwd.
        root: The run store folder (default: found from the cwd, as for `cascade run`).
        name: A name given to every run launched from the panel.
        tags: Tags given to every run launched from the panel.
        output_lines: Lines of output kept and shown for each run.
        update_interval: Seconds between refreshes of the runs table.

    Attributes:
        controls: One `FieldControl` per config field, in definition order.
        runs: The `PanelRun` of every run launched from this panel, oldest first.
        widget: The panel's root widget.
    """

    def __init__(self, script, *, root=None, name=None, tags=(), output_lines: int = OUTPUT_LINES,
                 update_interval: float = UPDATE_INTERVAL):
        widgets = require("ipywidgets", "notebook")
        _check_positive("output_lines", output_lines, int, OUTPUT_LINES)
        _check_positive("update_interval", update_interval, (int, float), UPDATE_INTERVAL)

        self.script = script
        self.run_options = {"root": root, "name": name, "tags": tuple(tags)}
        self.output_lines = output_lines
        self.update_interval = update_interval
        self.controls: list = []
        self.runs: list[PanelRun] = []
        self.selected: PanelRun | None = None
        self._refresher: threading.Thread | None = None
        self._lock = threading.Lock()

        self._make_widgets(widgets)
        self._build_controls()

    def _make_widgets(self, widgets) -> None:
        self.title = widgets.HTML()
        self.fields_box = widgets.VBox()
        self.message = widgets.HTML()
        self.run_button = widgets.Button(description="Run", button_style="success", icon="play")
        self.stop_button = widgets.Button(description="Stop", button_style="danger", icon="stop", disabled=True)
        self.reset_button = widgets.Button(description="Reset", icon="undo")
        self.reload_button = widgets.Button(description="Reload", icon="refresh")
        self.sweep = SweepSection(self)
        self.runs_box = widgets.VBox([_runs_header()])
        self.output_title = widgets.HTML()
        self.output_view = widgets.HTML(layout=widgets.Layout(max_height="20em", overflow="auto"))

        self.run_button.on_click(lambda _button: self.guard(self.launch))
        self.stop_button.on_click(lambda _button: self.guard(self.stop))
        self.reset_button.on_click(lambda _button: self.guard(self.reset))
        self.reload_button.on_click(lambda _button: self.guard(self.reload))

        buttons = widgets.HBox([self.run_button, self.stop_button, self.reset_button, self.reload_button])
        self.widget = widgets.VBox(
            [self.title, self.fields_box, self.message, buttons, self.sweep.widget, self.runs_box,
             self.output_title, self.output_view],
        )
        self.widget.add_class("cascade-panel")

    # Fields ----------------------------------------------------------------

    def _build_controls(self) -> None:
        """Discover the script's config and show one control per field."""
        from cascade_core.discovery import discover

        config = discover(self.script)
        bounds = fieldwidgets.declared_bounds(config.source, config.path)
        width = f"{max((len(field.key) for field in config.fields), default=4) + 2}ch"
        controls = [
            fieldwidgets.control_for(field, fieldwidgets.bounds_for(field, bounds, config.source), width)
            for field in config.fields
        ]

        for control in controls:
            control.observe(self._update_buttons)
        self.fields_box.children = [control.row for control in controls]
        self.sweep.set_fields([control.field.key for control in controls])
        self.title.value = self._title_html(config, controls)
        self.controls = controls
        self._update_buttons()

    def _title_html(self, config, controls) -> str:
        count = f"{len(controls)} field" + ("" if len(controls) == 1 else "s")
        if not controls:
            count = "no config fields: Run starts the script as it is"
        return f"<b>{html.escape(str(self.script))}</b> &middot; {count}"

    def changed_values(self) -> dict[str, object]:
        """Return `Field.key` -> value for every control whose shown value differs from its default.

        Raises:
            ValueError: A text box contains a value that does not parse.
        """
        return {control.field.key: control.value() for control in self.controls if control.changed()}

    def errors(self) -> list[str]:
        """Return the message of every text box whose value does not parse."""
        return [control.error for control in self.controls if control.error]

    # Buttons -----------------------------------------------------------------

    def launch(self):
        """Start a tracked background run with the changed values (what Run does) and return it.

        Raises:
            ValueError: A text box contains a value that does not parse.
            OverrideError: A value does not fit its field in the script as it is on disk now.
        """
        from cascade_core.run import start

        values = self.changed_values()
        row = self.new_row(values)
        try:
            run = start(self.script, values, on_stdout=row.stdout, on_stderr=row.stderr, **self.run_options)
        except UnknownKeyError as exc:
            hint = f"{exc}. The script changed since the panel was built: click Reload to read it again."
            raise UnknownKeyError(hint, exc.key, exc.value) from exc
        self.add_run(row, run)
        self.show_message(f"Started run {run.id}.")
        return run

    def new_row(self, values: dict) -> PanelRun:
        """Return a runs-table row for a run about to start with `values`.

        The row's `stdout` and `stderr` callbacks take the run's output.
        """
        return PanelRun(values, self.output_lines, self._select)

    def add_run(self, row: PanelRun, run) -> None:
        """Show a started run in the runs table, select it and keep the table refreshed."""
        row.attach(run)
        _track_for_shutdown(run)
        logger.info("Panel run %s started: %s %s", run.id, self.script, row.values)

        with self._lock:
            self.runs.append(row)
            self.runs_box.children = [*self.runs_box.children, row.widget]
        self._select(row)
        self._ensure_refresher()

    def stop(self) -> None:
        """Stop the selected run and its process tree (what Stop does)."""
        row = self.selected
        if row is None or row.run.poll() is not None:
            return
        logger.info("Panel: stopping run %s", row.run.id)
        row.run.stop()
        self.stop_button.disabled = True
        self.show_message(f"Stopping run {row.run.id}.")

    def reset(self) -> None:
        """Show every field's default again (what Reset does)."""
        for control in self.controls:
            control.reset()
        self.show_message("")

    def reload(self) -> None:
        """Rebuild the fields from the script as it is on disk now, keeping the runs table (what Reload does)."""
        before = {control.field.key: control.field for control in self.controls}
        self._build_controls()
        after = {control.field.key: control.field for control in self.controls}
        self.show_message(_reload_summary(before, after))

    def guard(self, action) -> None:
        """Run a button's action, showing an invalid value or a failure in the panel instead of raising."""
        try:
            action()
        except (CascadeError, ValueError, OSError) as exc:
            logger.warning("Panel %s failed: %s", getattr(action, "__name__", action), exc)
            self.show_message(str(exc), error=True)

    def show_message(self, text: str, error: bool = False) -> None:
        """Show a message above the buttons, in red for an error."""
        escaped = html.escape(text)
        self.message.value = f"<span style='color:{ERROR_COLOR}'>{escaped}</span>" if error else escaped

    def _update_buttons(self) -> None:
        errors = self.errors()
        self.run_button.disabled = bool(errors)
        self.run_button.tooltip = errors[0] if errors else "Start a run with the values shown"
        row = self.selected
        self.stop_button.disabled = row is None or row.run.poll() is not None

    # Runs table and output -------------------------------------------------

    def _select(self, row: PanelRun) -> None:
        self.selected = row
        with self._lock:
            rows = list(self.runs)
        for other in rows:
            other.id_button.button_style = "info" if other is row else ""
        self.output_title.value = f"Output of run <b>{html.escape(row.run.id)}</b>"
        row.output.mark_changed()
        self.refresh()

    def refresh(self) -> None:
        """Update every row of the runs table and the selected run's output."""
        with self._lock:
            rows = list(self.runs)
        for row in rows:
            row.refresh()

        selected = self.selected
        if selected is not None:
            text = selected.take_output()
            if text is not None:
                self.output_view.value = f"<pre style='margin:0'>{html.escape(text)}</pre>"
        self._update_buttons()

    def _ensure_refresher(self) -> None:
        with self._lock:
            if self._refresher is not None and self._refresher.is_alive():
                return
            self._refresher = threading.Thread(target=self._follow, name="cascade-panel", daemon=True)
            self._refresher.start()

    def _follow(self) -> None:
        while True:
            time.sleep(self.update_interval)
            with self._lock:
                going = [row for row in self.runs if row.running]
            try:
                self.refresh()
            except Exception:  # no caller would see an exception raised in this thread
                logger.exception("Panel: refreshing the runs table failed")
            if not going:
                return

    # Display -----------------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        return f"<Panel {self.script} fields={len(self.controls)} runs={len(self.runs)}>"


class PanelRun:
    """One row of the panel's runs table: a run, the values it changed, and its latest output.

    Output callbacks run in the run's reader threads and only feed a bounded
    `OutputTail`, while `refresh()` and `take_output()` run in the panel's
    refresher thread.
    """

    def __init__(self, values: dict, output_lines: int, on_select):
        import ipywidgets as widgets

        from cascade_ext.streaming import OutputTail

        self.values = values
        self.run = None
        self.running = True
        self.output = OutputTail(output_lines)
        self.stdout = self.output.stdout
        self.stderr = self.output.stderr
        self.take_output = self.output.take_output
        self._started = time.monotonic()

        self.id_button = widgets.Button(layout=widgets.Layout(width="17em"), tooltip="Show this run's output")
        self.id_button.on_click(lambda _button: on_select(self))
        self.values_label = _cell("18em")
        self.status_label = _cell("7em")
        self.duration_label = _cell("6em")
        self.metrics_label = _cell("18em")
        self.widget = widgets.HBox(
            [self.id_button, self.values_label, self.status_label, self.duration_label, self.metrics_label]
        )

    def attach(self, run) -> None:
        from cascade_ext.display import format_overrides

        self.run = run
        self.id_button.description = run.id
        self.values_label.value = html.escape(format_overrides(self.values) or "(defaults)")
        self.refresh()

    def refresh(self) -> None:
        """Show the run's status, duration and last metrics."""
        from cascade_ext.display import format_duration, format_metrics

        if self.run is None:
            return
        finished = self.run.poll() is not None
        elapsed = self.run.duration if finished else time.monotonic() - self._started
        self.status_label.value = _status_html(self.run.status)
        self.duration_label.value = html.escape(format_duration(elapsed))
        self.metrics_label.value = html.escape(format_metrics(self.run.metrics))
        if finished and self.running:
            self.running = False
            _untrack_for_shutdown(self.run)
            logger.info("Panel run %s ended: %s", self.run.id, self.run.status)


def _check_positive(name: str, value, types, example) -> None:
    if isinstance(value, bool) or not isinstance(value, types) or value <= 0:
        raise ValueError(f"Invalid {name} {value!r}: expected a number above 0, for example {name}={example}")


def _cell(width: str):
    import ipywidgets as widgets

    return widgets.HTML(layout=widgets.Layout(width=width))


def _runs_header():
    import ipywidgets as widgets

    titles = [("run", "17em"), ("changed values", "18em"), ("status", "7em"), ("duration", "6em"),
              ("last metrics", "18em")]
    return widgets.HBox([widgets.HTML(f"<b>{title}</b>", layout=widgets.Layout(width=width)) for title, width in titles])


_STATUS_COLORS = {"running": "#1565c0", "completed": "#2e7d32", "failed": ERROR_COLOR, "interrupted": "#ef6c00"}


def _status_html(status: str) -> str:
    color = _STATUS_COLORS.get(status, "inherit")
    return f"<span style='color:{color}'>{html.escape(str(status))}</span>"


def _reload_summary(before: dict, after: dict) -> str:
    """Describe the fields a reload added, removed and changed (in default or annotation)."""
    added = [key for key in after if key not in before]
    removed = [key for key in before if key not in after]
    changed = [
        key for key in after
        if key in before and (after[key].source, after[key].annotation) != (before[key].source, before[key].annotation)
    ]

    parts = ["Reloaded the fields from the script"]
    for label, keys in (("added", added), ("removed", removed), ("changed", changed)):
        if keys:
            parts.append(f"{label}: {', '.join(keys)}")
    return "; ".join(parts) + "."


def _track_for_shutdown(run) -> None:
    """Register the run to be stopped at kernel shutdown, like the background runs of `%cascade_run --bg`."""
    from cascade_ext import background

    background._track(run)


def _untrack_for_shutdown(run) -> None:
    from cascade_ext import background

    background._untrack(run)
