"""Main module of multiprocessing `spawn` and `forkserver` workers of a run with overrides.

multiprocessing runs this file as `__mp_main__` in each worker, in place of
the user's script, so the worker defines the same functions and config with
the overridden values. It executes the run's source under the script's real
path. `cascade_core.bootstrap` describes the environment variables it reads.
"""

import os as _os

from cascade_core.bootstrap import SCRIPT_FILE_ENV as _FILE_ENV
from cascade_core.bootstrap import SCRIPT_SOURCE_ENV as _SOURCE_ENV
from cascade_core.bootstrap import load_code as _load_code

__file__ = _os.environ[_FILE_ENV]
exec(_load_code(_os.environ[_SOURCE_ENV], __file__), globals())
