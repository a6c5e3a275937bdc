"""The scripts of the users' cases, one source per file name, for tests that run them.

`write_case_scripts(folder, "say.py", ...)` writes the named scripts into a
test's folder. Most scripts print `repr()` of what they received, so a
case's expected result is one exact line. `boom.py` keeps the exact line
numbers that its traceback case checks.
"""

from __future__ import annotations

from pathlib import Path

CASE_SCRIPTS = {
    "code.py": """\
RUN_CODE = "A7"
print(repr(RUN_CODE), type(RUN_CODE).__name__)
""",
    "split.py": """\
SPLIT = "train"
DAY = "2018-11-23"
STEPS = 1000
print(repr(SPLIT), type(SPLIT).__name__, repr(DAY), repr(STEPS), type(STEPS).__name__)
""",
    "types_demo.py": """\
LR = 0.1
EPOCHS = 10
USE_AMP = False
CKPT = None
print(repr(LR), type(LR).__name__, repr(EPOCHS), type(EPOCHS).__name__, repr(USE_AMP), repr(CKPT))
""",
    "net.py": """\
HIDDEN = [64, 64]
TAG = "base"
print(repr(HIDDEN), repr(TAG))
""",
    "boom.py": """\
# Toy trainer used to check traceback locations.
# Nothing above the constants on purpose but comments.

LR = 0.1  # learning rate


def update(weight, grad):
    scale = LR / 0  # line 8 divides by zero
    return weight - scale * grad


print("lr", LR)
update(1.0, 0.5)
""",
    "seed.py": """\
import time

SEED = 0
print("seed", SEED)
time.sleep(1)
""",
    "say.py": """\
PROMPT = "hi"
print(repr(PROMPT))
""",
    "slow.py": """\
import time

for i in range(3):
    print(f"epoch {i}")
    time.sleep(1)
print()
print("    indented note")
print("x" * 100_000)
print("end")
""",
    "bar.py": """\
import sys
import time

for i in range(1, 51):
    sys.stderr.write(f"\\rstep {i}/50")
    sys.stderr.flush()
    time.sleep(0.02)
sys.stderr.write("\\n")
print("done")
""",
    "bytes_out.py": """\
import sys

print("start", flush=True)
sys.stdout.buffer.write(b"acc\\x970.91\\n")
sys.stdout.buffer.flush()
print("точность ✓ 0.93")
print("end")
""",
    "spawner.py": """\
import subprocess
import sys
import time

child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
print("child", child.pid, flush=True)
time.sleep(600)
""",
}

PROJECT_FILES = {
    "helpers.py": "def double(x): return 2 * x\n",
    "data.txt": "7\n",
    "train.py": """\
import sys
from pathlib import Path

from helpers import double

K = 3
here = Path(__file__).resolve().parent
base = int((here / "data.txt").read_text())
print(double(K) + base, here.name, Path(sys.argv[0]).name)
""",
}


def write_case_scripts(folder: Path, *names: str) -> Path:
    """Write the named case scripts into `folder` and return `folder`."""
    for name in names:
        (Path(folder) / name).write_text(CASE_SCRIPTS[name], encoding="utf-8")
    return Path(folder)


def write_project(folder: Path) -> Path:
    """Write the `proj/` layout of the run-from-another-directory case under `folder`; return `proj`."""
    project = Path(folder) / "proj"
    project.mkdir(parents=True)
    for name, text in PROJECT_FILES.items():
        (project / name).write_text(text, encoding="utf-8")
    return project
