"""The cascade IPython extension: `%load_ext cascade_ext`.

Registers `%cascade_run`, `%cascade_rerun`, `%cascade_runs`, `%cascade_show`,
`%cascade_diff`, `%cascade_config` and `%cascade_panel`. Importing this
package is cheap: IPython parts load with the extension, ipywidgets only
when a widget is made.
"""

from __future__ import annotations

import sys
import types

__all__ = ["load_ipython_extension", "unload_ipython_extension", "last_run", "panel"]


def load_ipython_extension(ipython) -> None:
    """Register the magics, the failed-run rendering and the HTML repr of runs."""
    from cascade_ext import magics

    magics.register(ipython)


def unload_ipython_extension(ipython) -> None:
    """Undo `load_ipython_extension`: remove the magics, the rendering and the repr."""
    from cascade_ext import magics

    magics.unregister(ipython)


def last_run():
    """Return the run most recently started by `%cascade_run` or `%cascade_rerun`, or None.

    A failed run is returned too, after its RunFailedError was shown.
    """
    from cascade_ext.magics import last_run as current

    return current()


def _panel(script, **options):
    """Build the widget panel of a script's config (see `cascade_ext.panel.panel`)."""
    from cascade_ext.panel import panel as build

    return build(script, **options)


class _Package(types.ModuleType):
    """Module type of this package, which keeps `cascade_ext.panel` bound to the panel function.

    Importing the submodule `cascade_ext.panel` sets the package attribute
    `panel` to that module. The property's setter ignores that assignment, so
    the attribute stays the function.
    """

    @property
    def panel(self):
        return _panel

    @panel.setter
    def panel(self, module):
        pass


sys.modules[__name__].__class__ = _Package
