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
    """A scanned case of the demo image (2 workers, no report). Tests must not change it."""
    return scan_ok(tmp_path_factory.mktemp("demo-case") / "case", demo_image, extra=("--workers", "2"))
