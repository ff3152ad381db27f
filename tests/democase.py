"""The demo case (bench.demo_image: a 60 MiB GPT disk with ext4 + FAT32 and planted spam-server
content), built and scanned once per session. Import the fixtures into a test module:
`from tests.democase import demo_case, demo_image  # noqa: F401`."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import scan_ok


@pytest.fixture(scope="session")
def demo_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from bench.demo_image import build

    image = tmp_path_factory.mktemp("demo-image") / "demo.img"
    build(image)
    return image


@pytest.fixture(scope="session")
def demo_case(demo_image: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scanned case of the demo image (in process, no report). Tests must not change it.

    In process (--workers 0): its users read the tables, export and query them; that Dask
    gives the same bytes is tests/test_pipeline_determinism.py's, and test_locked_down.py
    compares its own 2-worker scans with this case."""
    return scan_ok(tmp_path_factory.mktemp("demo-case") / "case", demo_image, extra=("--workers", "0"))
