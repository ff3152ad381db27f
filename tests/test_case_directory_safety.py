"""The case directory can never be the evidence, hold it, or lie in its folder; --force removes only
what seized owns; a refused scan leaves the directory as it found it (issue 21).

Every combination runs the real CLI on a real ext4 image (mkfs.ext4 -d) and then checks the
image's SHA-256 and every other file of the tree, byte for byte.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest

from tests import imaging
from tests.conftest import run_seized

PLANT = b"alice.newcomer@example.org\n"


def _tree_state(root: Path) -> dict[str, str]:
    """Every entry under root (not following symlinks): relative path -> content hash / link target."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            if p.is_symlink():
                out[rel] = "link:" + os.readlink(p)
            elif p.is_file():
                out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
            else:
                out[rel] = "dir"
    return out


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def ext4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("safety-src")
    imaging.add_file(root / "tree", b"home/user/list.txt", PLANT * 20)
    return imaging.ext4_from_tree(root / "tree", root / "disk.ext4", 4)


def _scan(image: Path, case: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_seized("scan", image, "-o", case, "--workers", "0", "--no-report", "--no-default-rules", *extra,
                      timeout=180)


def _one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("seized: error:"), proc.stderr
    return lines[0]


@pytest.fixture
def layout(tmp_path: Path, ext4: Path) -> dict[str, Path]:
    """root/top/mid/ev/disk.img with notes beside it and above it; symlinks to the image's folder
    and to its parents from elsewhere in the tree."""
    root = tmp_path / "root"
    ev = root / "top" / "mid" / "ev"
    ev.mkdir(parents=True)
    image = ev / "disk.img"
    image.write_bytes(ext4.read_bytes())
    (ev / "notes.txt").write_text("acquisition notes\n")
    (root / "top" / "mid" / "keep.txt").write_text("keep me\n")
    (root / "top" / "sub").mkdir()
    (root / "top" / "sub" / "f.txt").write_text("unrelated\n")
    links = root / "links"
    links.mkdir()
    (links / "to-ev").symlink_to(ev)
    (links / "to-mid").symlink_to(root / "top" / "mid")
    (root / "top" / "mid" / "sibling").symlink_to(root / "top")  # a sibling of ev that leads to the grandparent
    return {"root": root, "image": image, "ev": ev, "mid": root / "top" / "mid", "top": root / "top",
            "to-ev": links / "to-ev", "to-mid": links / "to-mid", "sibling": root / "top" / "mid" / "sibling"}


CASES = {
    "image folder": lambda L: L["ev"],
    "parent": lambda L: L["mid"],
    "grandparent": lambda L: L["top"],
    "new folder inside the image folder": lambda L: L["ev"] / "case",
    "symlink to the image folder": lambda L: L["to-ev"],
    "symlink to the parent": lambda L: L["to-mid"],
    "new folder under a symlink to the image folder": lambda L: L["to-ev"] / "case",
    "sibling symlink leading to the grandparent": lambda L: L["sibling"],
    "the image's folder by a dotted path": lambda L: L["mid"] / "sibling" / "mid" / "ev" / ".." / "ev",
    "the image file itself": lambda L: L["image"],
}


@pytest.mark.parametrize("force", [False, True], ids=["plain", "force"])
@pytest.mark.parametrize("looks_like_a_case", [False, True], ids=["as-is", "with-case-marker"])
@pytest.mark.parametrize("where", list(CASES))
def test_case_directory_never_touches_the_evidence(layout, where: str, force: bool, looks_like_a_case: bool) -> None:
    case = CASES[where](layout)
    if looks_like_a_case and case.is_dir():
        # a seized case found at that place: --force would once have emptied the folder
        (case / ".seized-case.json").write_text(json.dumps({"format": "seized-case/1", "identity": {"x": 1}}))
        (case / "manifest.json").write_text(json.dumps({"tool": {"name": "seized"}}))
    before_sha = _sha(layout["image"])
    before = _tree_state(layout["root"])
    proc = _scan(layout["image"], case, *(["--force"] if force else []))
    line = _one_error_line(proc)
    assert "evidence" in line or "not a directory" in line, line
    assert _sha(layout["image"]) == before_sha
    assert _tree_state(layout["root"]) == before, "the refused scan changed the tree"


def test_bind_mount_of_the_image_folder_is_refused(layout, tmp_path: Path) -> None:
    mnt = tmp_path / "mnt"
    bind = mnt / "bind"
    bind.mkdir(parents=True)
    (mnt / "other.txt").write_text("beside the mount\n")
    try:
        subprocess.run(["mount", "--bind", str(layout["ev"]), str(bind)], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"mount --bind is not allowed here: {exc}")
    try:
        before_sha = _sha(layout["image"])
        for case, force in [(bind, False), (bind, True), (mnt, True), (bind / "case", False)]:
            before = _tree_state(layout["root"])
            line = _one_error_line(_scan(layout["image"], case, *(["--force"] if force else [])))
            assert "evidence" in line, line
            assert _sha(layout["image"]) == before_sha
            assert _tree_state(layout["root"]) == before
            assert (mnt / "other.txt").read_text() == "beside the mount\n"
        # the image named through the mount, the case at its real folder
        line = _one_error_line(_scan(bind / "disk.img", layout["ev"], "--force"))
        assert "evidence" in line, line
    finally:
        subprocess.run(["umount", str(bind)], check=False, capture_output=True)
    assert _sha(layout["image"]) == before_sha


def test_newcomers_sequence_refuses_and_keeps_the_image(tmp_path: Path, ext4: Path) -> None:
    """issue 21: `seized scan evp2/images/demo.img -o evp2`, refused, then again with --force."""
    evp2 = tmp_path / "evp2"
    image = evp2 / "images" / "demo.img"
    image.parent.mkdir(parents=True)
    image.write_bytes(ext4.read_bytes())
    (evp2 / "keep.txt").write_text("keep\n")
    (evp2 / "sub").mkdir()
    (evp2 / "sub" / "f").write_text("x\n")
    before, sha = _tree_state(evp2), _sha(image)
    for extra in ((), ("--force",)):
        line = _one_error_line(_scan(image, evp2, *extra))
        assert "contains the evidence" in line, line
        assert _tree_state(evp2) == before and _sha(image) == sha


def test_force_removes_only_what_seized_owns(tmp_path: Path, ext4: Path) -> None:
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    a, b = evidence / "a.img", evidence / "b.img"
    a.write_bytes(ext4.read_bytes())
    b.write_bytes(ext4.read_bytes()[:-4096] + bytes(4096))
    case = tmp_path / "case"
    first = _scan(a, case)
    assert first.returncode == 0, first.stderr[-2000:]
    (case / "case.toml").write_text('name = "kept"\n')
    (case / "keep.txt").write_text("examiner's notes\n")
    (case / "mine").mkdir()
    (case / "mine" / "x").write_text("x\n")
    refused = _scan(b, case)
    assert "different case" in _one_error_line(refused)
    forced = _scan(b, case, "--force")
    assert forced.returncode == 0, forced.stderr[-2000:]
    assert (case / "case.toml").read_text() == 'name = "kept"\n'
    assert (case / "keep.txt").read_text() == "examiner's notes\n"
    assert (case / "mine" / "x").read_text() == "x\n"
    manifest = json.loads((case / "manifest.json").read_text())
    assert [Path(e["path"]).name for e in manifest["evidence"]] == ["b.img"]
    marker = json.loads((case / ".seized-case.json").read_text())
    assert set(marker["owns"]) == {"manifest.json", "tables", "report", "report-working", ".journal",
                                   ".seized-case.json"}


def test_folder_of_other_files_refused_even_with_force(tmp_path: Path, ext4: Path) -> None:
    image = tmp_path / "ev" / "disk.img"
    image.parent.mkdir()
    image.write_bytes(ext4.read_bytes())
    folder = tmp_path / "notes"
    (folder / "sub").mkdir(parents=True)
    (folder / "keep.txt").write_text("keep\n")
    before = _tree_state(folder)
    for extra in ((), ("--force",)):
        line = _one_error_line(_scan(image, folder, *extra))
        assert "not a seized case" in line, line
        assert _tree_state(folder) == before


@pytest.mark.parametrize("state", ["missing", "empty", "case.toml only"])
def test_refused_scan_leaves_the_directory_as_it_found_it(tmp_path: Path, ext4: Path, state: str) -> None:
    tiny = tmp_path / "ev" / "tiny.img"
    tiny.parent.mkdir()
    tiny.write_bytes(b"\x00" * 100)  # too small to hold a disk: every image refused
    case = tmp_path / "case"
    if state != "missing":
        case.mkdir()
    if state == "case.toml only":
        (case / "case.toml").write_text('name = "x"\n')
    before = _tree_state(tmp_path)
    proc = _scan(tiny, case)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert _tree_state(tmp_path) == before, "the refused scan left something behind"
    # so the next scan there is not refused as "a different case"
    good = tmp_path / "ev" / "good.img"
    good.write_bytes(ext4.read_bytes())
    proc = _scan(good, case)
    assert proc.returncode == 0, proc.stderr[-2000:]
