"""The panel's sweep mode: values for one or two fields, and a button that launches the grid.

Values are written in the sweep grammar of `cascade run -m` (`1e-3,1e-4`,
`range(1, 4)`, `logspace(-5, -1, 5)`, `choice(adam, sgd)`). The other fields
keep the values shown in the panel. Every point becomes a run of the same
sweep and appears in the panel's runs table. The "at once" input sets how
many points run at a time.
"""

from __future__ import annotations

import logging
import threading

from cascade_core.errors import SweepError

logger = logging.getLogger(__name__)

NO_FIELD = "(none)"
DEFAULT_JOBS = 2
VALUES_PLACEHOLDER = "1e-3,1e-4 or logspace(-5, -1, 5)"


class SweepSection:
    """The sweep widgets of a panel and the thread that runs a sweep.

    Args:
        panel: The `Panel` whose script, run options and runs table the sweep uses.
    """

    def __init__(self, panel):
        import ipywidgets as widgets

        self.panel = panel
        self._thread: threading.Thread | None = None
        self._stop_requested = threading.Event()
        self._rows: dict[int, object] = {}
        self._rows_lock = threading.Lock()
        self._shared_values: dict[str, object] = {}

        self.first_key = widgets.Dropdown(description="sweep")
        self.first_values = widgets.Text(placeholder=VALUES_PLACEHOLDER, description="values")
        self.second_key = widgets.Dropdown(description="and")
        self.second_values = widgets.Text(placeholder=VALUES_PLACEHOLDER, description="values")
        self.jobs = widgets.BoundedIntText(value=DEFAULT_JOBS, min=1, max=64, description="at once")
        self.run_button = widgets.Button(description="Run sweep", button_style="success", icon="th")
        self.stop_button = widgets.Button(description="Stop sweep", button_style="danger", icon="stop", disabled=True)
        self.run_button.on_click(lambda _button: panel.guard(self.launch))
        self.stop_button.on_click(lambda _button: self.stop())

        content = widgets.VBox([
            widgets.HBox([self.first_key, self.first_values]),
            widgets.HBox([self.second_key, self.second_values]),
            widgets.HBox([self.jobs, self.run_button, self.stop_button]),
        ])
        self.widget = widgets.Accordion(children=[content], titles=("Sweep",), selected_index=None)

    def set_fields(self, keys: list[str]) -> None:
        """Offer the given field keys, keeping the chosen ones that still exist."""
        first, second = self.first_key.value, self.second_key.value
        self.first_key.options = keys
        self.second_key.options = [NO_FIELD, *keys]
        if first not in keys:
            first = keys[0] if keys else None
        if second not in keys:
            second = NO_FIELD
        self.first_key.value = first
        self.second_key.value = second

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def swept(self) -> dict[str, str]:
        """Return each chosen field key and its sweep values text.

        Raises:
            SweepError: No field is chosen, a chosen field has no values, or
                both rows name the same field.
        """
        if self.first_key.value is None:
            raise SweepError("This script has no config fields to sweep.")

        swept = {self.first_key.value: self.first_values.value.strip()}
        if self.second_key.value != NO_FIELD:
            if self.second_key.value in swept:
                raise SweepError(f"Both sweep rows name {self.second_key.value}: choose another field for the second row.")
            swept[self.second_key.value] = self.second_values.value.strip()

        for key, text in swept.items():
            if not text:
                raise SweepError(f"Missing sweep values for {key}: enter them as in cascade run -m, e.g. {VALUES_PLACEHOLDER}.")
        return swept

    def tokens(self) -> tuple[list[str], dict[str, object]]:
        """Return the sweep's override tokens and the panel's changed values that every point keeps.

        The tokens list the kept values first, then the swept fields.
        """
        swept = self.swept()
        shared_values = {key: value for key, value in self.panel.changed_values().items() if key not in swept}
        tokens = []
        for key, value in shared_values.items():
            tokens += [f"--{key}", repr(value)]
        for key, text in swept.items():
            tokens += [f"--{key}", text]
        return tokens, shared_values

    def launch(self) -> None:
        """Check every point of the sweep, then run them in a background thread (what Run sweep does).

        Raises:
            OverrideError: A value is invalid, and nothing is run.
            SweepError: A sweep is already running, or the sweep values are invalid.
        """
        from cascade_core.sweeps import prepare_sweep

        if self.running:
            raise SweepError("A sweep of this panel is still running: stop it or wait for it to end.")

        tokens, shared_values = self.tokens()
        plan = prepare_sweep(self.panel.script, tokens, self.panel.run_options)
        self._stop_requested = threading.Event()
        self._rows = {}
        self._shared_values = shared_values
        self._thread = threading.Thread(target=self._execute, args=(plan, self.jobs.value), name="cascade-panel-sweep",
                                        daemon=True)
        self.stop_button.disabled = False
        self._thread.start()
        self.panel.show_message(f"Started a sweep of {len(plan)} runs, {self.jobs.value} at once.")

    def stop(self) -> None:
        """Stop the running points of the sweep and launch no more (what Stop sweep does)."""
        self._stop_requested.set()
        self.stop_button.disabled = True

    def _execute(self, plan, jobs: int) -> None:
        from cascade_core.sweeps import execute

        try:
            outcome = execute(self.panel.script, plan, self.panel.run_options, jobs=jobs, observer=self,
                              stop_requested=self._stop_requested)
        except Exception as exc:  # no caller would see an exception raised in this thread
            logger.exception("Panel sweep of %s failed", self.panel.script)
            self.panel.show_message(f"The sweep failed: {exc}", error=True)
        else:
            self.panel.show_message(_summary(outcome))
        finally:
            self.stop_button.disabled = True

    # Observer of the sweep: called from the sweep's thread and the runs' reader threads.

    def on_start(self, point, run) -> None:
        self.panel.add_run(self._row(point), run)

    def on_output(self, point, stream: str, text: str) -> None:
        row = self._row(point)
        if stream == "stdout":
            row.stdout(text)
        else:
            row.stderr(text)

    def _row(self, point):
        """Return the runs-table row of a point, created on first use because output may come before `on_start`."""
        with self._rows_lock:
            row = self._rows.get(point.index)
            if row is None:
                row = self.panel.new_row({**self._shared_values, **point.values})
                self._rows[point.index] = row
            return row


def _summary(outcome) -> str:
    runs = outcome.ordered_runs()
    completed = sum(run.status == "completed" for run in runs)
    text = f"Sweep {outcome.sweep_id} ended: {completed} of {len(outcome.plan)} runs completed"
    if outcome.interrupted:
        text += " (stopped)"
    return text + "."
