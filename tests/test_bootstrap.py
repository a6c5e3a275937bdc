"""Tests of cascade_core.bootstrap: the child gets the same `__main__`, paths and argv as plain `python script.py`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cascade_core import bootstrap


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def run_bootstrap(script: Path, source: Path | None = None, args=(), as_given=None, cwd=None, patch_spawn=False):
    env = dict(os.environ)
    env[bootstrap.SCRIPT_FILE_ENV] = str(script)
    env[bootstrap.SCRIPT_SOURCE_ENV] = str(source or script)
    env[bootstrap.PATCH_SPAWN_ENV] = "1" if patch_spawn else "0"
    command = bootstrap.command(as_given or str(script), list(args))
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


def run_plain(script: Path, args=(), cwd=None):
    return subprocess.run([sys.executable, str(script), *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_bootstrap_main_module_attributes(tmp_path):
    script = write(tmp_path / "proj" / "show.py", """\
        import sys
        print(__name__, __file__, sys.argv, __spec__, sys.path[0], __doc__)
    """)

    result = run_bootstrap(script, args=["--x", "1"], as_given="proj/show.py", cwd=tmp_path)

    assert result.stdout == f"__main__ {script} ['proj/show.py', '--x', '1'] None {script.parent} None\n"
    assert result.returncode == 0


def test_bootstrap_sys_path_resolves_symlink(tmp_path):
    real = write(tmp_path / "real" / "show.py", "import sys\nprint(sys.path[0])\n")
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "real")

    result = run_bootstrap(link / "show.py")

    assert result.stdout == f"{real.parent}\n"


def test_bootstrap_clean_namespace(tmp_path):
    script = write(tmp_path / "names.py", """\
        print(sorted(name for name in globals() if not name.startswith("__")))
    """)

    assert run_bootstrap(script).stdout == "[]\n"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("def f():\n    return 1 / 0\n\n\nf()\n", id="exception"),
        pytest.param("x = (\n", id="syntax-error"),
        pytest.param("raise SystemExit(3)\n", id="system-exit-code"),
        pytest.param("import sys\nsys.exit('fatal: stop')\n", id="system-exit-message"),
        pytest.param("try:\n    1 / 0\nexcept ZeroDivisionError as e:\n    raise KeyError('k') from e\n", id="chained"),
    ],
)
def test_bootstrap_matches_plain_python(tmp_path, body):
    script = write(tmp_path / "case.py", body)

    ours = run_bootstrap(script)
    plain = run_plain(script)

    assert ours.stderr == plain.stderr
    assert ours.stdout == plain.stdout
    assert ours.returncode == plain.returncode


def test_bootstrap_keyboard_interrupt_ends_by_sigint(tmp_path):
    script = write(tmp_path / "interrupt.py", "import atexit\natexit.register(print, 'cleanup')\nraise KeyboardInterrupt\n")

    ours = run_bootstrap(script)
    plain = run_plain(script)

    assert ours.returncode == plain.returncode == -signal.SIGINT
    assert ours.stdout == plain.stdout == "cleanup\n"
    assert ours.stderr == plain.stderr


def test_bootstrap_traceback_shows_executed_source(tmp_path):
    script = write(tmp_path / "boom.py", "LR = 0.1\nraise ValueError(LR)\n")
    source = write(tmp_path / "run" / "cascade_run_script.py", "LR = 0.5\nraise ValueError(LR)\n")

    result = run_bootstrap(script, source=source)

    assert f'File "{script}", line 2, in <module>\n    raise ValueError(LR)\nValueError: 0.5\n' in result.stderr
    assert "cascade_core" not in result.stderr


def test_bootstrap_inspect_sees_executed_source(tmp_path):
    script = write(tmp_path / "insp.py", "import inspect\n\n\ndef f():\n    return 1\n\n\nprint(inspect.getsource(f), end='')\n")
    source = write(tmp_path / "run" / "src.py", "import inspect\n\n\ndef f():\n    return 2\n\n\nprint(inspect.getsource(f), end='')\n")

    assert run_bootstrap(script, source=source).stdout == "def f():\n    return 2\n"


def test_bootstrap_odd_folder_name(tmp_path):
    script = write(tmp_path / 'odd "q" \\Users' / "proj" / "t.py", "print(__file__)\n")

    result = run_bootstrap(script)

    assert result.stdout == f"{script}\n"
    assert result.returncode == 0


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_bootstrap_multiprocessing_workers_see_overrides(tmp_path, method):
    text = """\
        import multiprocessing as mp

        VALUE = {value}


        def work(_):
            return VALUE


        if __name__ == "__main__":
            with mp.get_context("{method}").Pool(2) as pool:
                print(pool.map(work, range(2)))
    """
    script = write(tmp_path / "mp.py", text.format(value=1, method=method))
    source = write(tmp_path / "run" / "cascade_run_script.py", text.format(value=7, method=method))

    result = run_bootstrap(script, source=source, patch_spawn=True)

    assert result.stdout == "[7, 7]\n", result.stderr


OTHER_PYTHONS = [
    path for path in (f"/root/.pyenv/versions/{version}/bin/python" for version in ("3.10.13", "3.12.1", "3.13.0"))
    if os.path.exists(path)
]


@pytest.mark.skipif(not OTHER_PYTHONS, reason="no other Python version installed")
@pytest.mark.parametrize("python", OTHER_PYTHONS, ids=lambda path: path.split("/")[-3])
def test_bootstrap_other_python_versions(tmp_path, python):
    text = (
        "import multiprocessing as mp\n"
        "\n"
        "VALUE = {value}\n"
        "\n"
        "\n"
        "def work(_):\n"
        "    return VALUE\n"
        "\n"
        "\n"
        "if __name__ == '__main__':\n"
        "    with mp.get_context('spawn').Pool(1) as pool:\n"
        "        print(pool.map(work, [0]))\n"
        "    raise ValueError(VALUE)\n"
    )
    script = write(tmp_path / "mp.py", text.format(value=1))
    source = write(tmp_path / "run" / "cascade_run_script.py", text.format(value=5))
    env = dict(os.environ, PYTHONPATH=str(Path(bootstrap.__file__).parents[1]))
    env[bootstrap.SCRIPT_FILE_ENV] = str(script)
    env[bootstrap.SCRIPT_SOURCE_ENV] = str(source)
    env[bootstrap.PATCH_SPAWN_ENV] = "1"

    result = subprocess.run([python, "-c", bootstrap.BOOTSTRAP, str(script)], env=env, capture_output=True,
                            text=True, timeout=120)

    assert result.stdout == "[5]\n", result.stderr
    assert result.returncode == 1
    assert result.stderr.startswith(f'Traceback (most recent call last):\n  File "{script}", line 13, in <module>\n')
    assert result.stderr.endswith("ValueError: 5\n")
