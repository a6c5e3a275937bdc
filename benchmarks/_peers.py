"""The tools users would pick instead, set up for a side-by-side measure.

- cascade-ml 0.18.0, installed on first use into a virtual environment of
  its own under the cache folder, which later runs reuse. Its command is
  the console script `cascade run SCRIPT -y [--log]`, which runs the script
  with `python -u` and echoes the merged output line by line.
- Hydra (hydra-core, in the `bench` extra): a `@hydra.main` app with the same
  two config values. Hydra writes a run folder with the composed config and a
  log of the app's `logging` records; stdout is not captured.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CASCADE_ML_VERSION = "0.18.0"
CACHE_DIR = Path(os.environ.get("CASCADE_BENCH_CACHE", Path.home() / ".cache" / "cascade-ext-bench"))


class PeerUnavailable(RuntimeError):
    """Raised when a peer tool cannot be set up on this machine; the benchmark skips it."""


def cascade_ml_venv() -> Path:
    """Return the virtual environment holding cascade-ml 0.18.0, creating it on first use.

    Raises:
        PeerUnavailable: If `python -m venv` or `pip install` fails (no registry access, for one).
    """
    venv = CACHE_DIR / f"cascade-ml-{CASCADE_ML_VERSION}"
    script = venv / "bin" / "cascade"
    if script.exists():
        return venv

    print(f"  installing cascade-ml=={CASCADE_ML_VERSION} into {venv} (first run only)", flush=True)
    base_python = getattr(sys, "_base_executable", sys.executable)
    steps = (
        [base_python, "-m", "venv", "--clear", str(venv)],
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", f"cascade-ml=={CASCADE_ML_VERSION}"],
    )
    for step in steps:
        finished = subprocess.run(step, capture_output=True, text=True)
        if finished.returncode != 0:
            raise PeerUnavailable(f"{' '.join(step[:4])} failed: {finished.stderr.strip()[-300:]}")
    return venv


def cascade_ml_run(venv: Path, script: str, *, log: bool) -> list[str]:
    """Return the argv of cascade-ml's `cascade run SCRIPT -y`, with `--log` when `log`."""
    return [str(venv / "bin" / "cascade"), "run", script, "-y", *(["--log"] if log else [])]


HYDRA_APP = '''\
from dataclasses import dataclass

import hydra
from hydra.core.config_store import ConfigStore


@dataclass
class AppConfig:
    LR: float = 0.1
    EPOCHS: int = 3


ConfigStore.instance().store(name="app", node=AppConfig)


@hydra.main(version_base=None, config_name="app")
def main(cfg: AppConfig) -> None:
{body}


if __name__ == "__main__":
    main()
'''


def write_hydra_app(path: Path, body: str) -> Path:
    """Write a Hydra app whose `main(cfg)` runs `body` (indented Python lines) and return its path."""
    indented = "\n".join(f"    {line}" for line in body.splitlines()) or "    pass"
    path.write_text(HYDRA_APP.format(body=indented))
    return path


def cascade_ml_or_skip() -> Path | None:
    """Return cascade-ml's venv, or print why it is skipped and return None."""
    try:
        return cascade_ml_venv()
    except PeerUnavailable as exc:
        print(f"  cascade-ml skipped: {exc}", flush=True)
        return None


def hydra_or_skip() -> bool:
    """Tell whether Hydra can be measured, printing why not when it cannot."""
    try:
        import hydra  # noqa: F401
    except ImportError:
        print("  Hydra skipped: hydra-core is not installed (pip install -e '.[bench]')", flush=True)
        return False
    return True
