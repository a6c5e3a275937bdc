"""Tests of `cascade_core.environment`: the `environment.json` record of a run."""

import platform
import sys

import pytest

from cascade_core.environment import collect, platform_text


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the uname-based text is Linux only")
def test_platform_text_matches_platform_module():
    expected = platform.platform()
    processor = platform.processor()
    if processor:
        # platform.platform() adds the processor from `uname -p`; platform_text() leaves it out.
        expected = expected.replace(f"-{processor}", "", 1)

    assert platform_text() == expected


def test_environment_collect_platform_fields(tmp_path):
    record = collect(tmp_path / "script.py")

    assert record["platform"] == platform_text()
    assert record["machine"] == platform.machine()
