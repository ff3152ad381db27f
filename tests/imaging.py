"""Build real disk images with real tools (e2fsprogs, dosfstools, mtools, ntfs-3g, sfdisk, ewf-tools).

Why: the pipeline must be tested against images that the tools examiners meet in the field
would write, not against bytes a test invented. Nothing here mounts anything, so it runs as an
ordinary user without loop devices. Only the standard library is used, because `bench/` and
`make demo` import this module too.

Reproducibility: every builder pins what the tool would otherwise randomise or take from the
clock (UUIDs, hash seeds, volume serials, file times) where the tool lets us, so two builds of
the same tree give byte-identical ext4 and FAT images. NTFS (mkntfs) still writes random GUIDs.

Names are bytes on Linux: trees may hold names that are not valid UTF-8. `add_file` takes a
`bytes` relative path so a test can plant `b"caf\\xe9.txt"` at run time (git cannot store such
a name portably, so it is never committed).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Iterable, Literal, Sequence

# 2020-09-13T12:26:40Z: every file time in a built image, so images are reproducible.
FIXED_EPOCH = 1_600_000_000
FIXED_UUID = "5eed0000-0000-4000-8000-000000000001"
SECTOR = 512
MIB = 1024 * 1024
_SBIN = ("/usr/sbin", "/sbin")


class ImagingError(RuntimeError):
    """A tool that builds test images failed or is missing; the message says which and why."""


def tool(name: str) -> str:
    """Absolute path of a system tool, looking in /usr/sbin and /sbin too (not on a user's PATH)."""
    found = shutil.which(name) or shutil.which(name, path=os.pathsep.join(_SBIN))
    if not found:
        raise ImagingError(f"required tool {name!r} is not installed (run `make system-packages`)")
    return found


def _run(argv: Sequence[str | os.PathLike[str] | bytes], *, env: dict[str, str] | None = None,
         stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run a tool; raise ImagingError carrying its stderr when it fails."""
    full_env = {**os.environ, "LC_ALL": "C", "TZ": "UTC", **(env or {})}
    argv = [tool(os.fsdecode(argv[0])), *argv[1:]]
    proc = subprocess.run(argv, input=stdin, capture_output=True, env=full_env, timeout=300,
                          stdin=None if stdin is not None else subprocess.DEVNULL)
    if proc.returncode != 0:
        cmd = " ".join(os.fsdecode(a) for a in argv)
        msg = proc.stderr.decode(errors="replace").strip() or proc.stdout.decode(errors="replace").strip()
        raise ImagingError(f"{cmd} failed with exit {proc.returncode}: {msg}")
    return proc


# ---------------------------------------------------------------------------------------------
# Trees


def stage_tree(src: Path, dest: Path) -> Path:
    """Copy a data tree (symlinks kept as links) to `dest`, which must not exist yet."""
    shutil.copytree(src, dest, symlinks=True)
    return dest


def add_file(tree: Path, relpath: bytes, content: bytes) -> Path:
    """Create a file under `tree` whose relative name is given as raw bytes (may be non-UTF-8)."""
    target = os.path.join(os.fsencode(tree), relpath)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with open(target, "wb") as fh:
        fh.write(content)
    return Path(os.fsdecode(target))


def pin_times(tree: Path, epoch: int = FIXED_EPOCH) -> None:
    """Set atime/mtime of everything in `tree` (links themselves, not targets) to `epoch`."""
    root = os.fsencode(tree)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            os.utime(os.path.join(dirpath, name), (epoch, epoch), follow_symlinks=False)
    os.utime(root, (epoch, epoch))


def _staged(tree: Path, workdir: Path) -> Path:
    """A time-pinned copy of `tree`, so building never touches the caller's tree."""
    copy = stage_tree(tree, workdir / "tree")
    pin_times(copy)
    return copy


def _blank(dest: Path, size_mib: int) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest, "wb") as fh:
        fh.truncate(size_mib * MIB)


# ---------------------------------------------------------------------------------------------
# ext4


def _e2_env() -> dict[str, str]:
    return {"E2FSPROGS_FAKE_TIME": str(FIXED_EPOCH), "SOURCE_DATE_EPOCH": str(FIXED_EPOCH),
            "DEBUGFS_PAGER": "__none__", "PAGER": "cat"}


def ext4_from_tree(tree: Path, dest: Path, size_mib: int = 16, *, uuid: str = FIXED_UUID,
                   label: str = "seized") -> Path:
    """mkfs.ext4 -d TREE: an ext4 image holding a copy of `tree` (reproducible bytes)."""
    _blank(dest, size_mib)
    with tempfile.TemporaryDirectory() as tmp:
        staged = _staged(tree, Path(tmp))
        _run(["mkfs.ext4", "-q", "-F", "-T", "small", "-L", label, "-U", uuid,
              "-E", f"hash_seed={uuid},root_owner=0:0", "-d", staged, dest], env=_e2_env())
    _pin_ext_ctimes(dest)
    return dest


def _ext_inodes(image: Path) -> list[int]:
    """Every inode reachable from the root of an ext image (debugfs `ls -p`, read-only)."""
    found = [2]
    pending = ["/"]
    while pending:
        directory = pending.pop()
        out = _run(["debugfs", "-R", f"ls -p {_debugfs_quote(directory)}", image], env=_e2_env()).stdout
        for line in out.split(b"\n"):
            fields = line.split(b"/")  # /INODE/MODE/UID/GID/NAME/SIZE/ (NAME may hold "/"? never)
            if len(fields) < 7 or fields[5] in (b".", b".."):
                continue
            found.append(int(fields[1]))
            if fields[2].startswith(b"04"):
                pending.append(directory.rstrip("/") + "/" + fields[5].decode("utf-8", "surrogateescape"))
    return found


def _pin_ext_ctimes(image: Path) -> None:
    """Pin ctime and atime of every inode.

    mke2fs 1.47.0 stamps ctimes with the wall clock even under E2FSPROGS_FAKE_TIME, and reading
    the source files to copy them moves their atime (relatime) before mke2fs records it.
    """
    script = "".join(f"sif <{ino}> {field} @{FIXED_EPOCH}\n"
                     for ino in _ext_inodes(image) for field in ("ctime", "atime"))
    _run(["debugfs", "-w", "-f", "-", image], env=_e2_env(), stdin=script.encode())


def _debugfs_quote(path: str) -> str:
    if '"' in path or "\n" in path:
        raise ImagingError(f"debugfs cannot address the path {path!r}")
    return f'"{path}"'


def ext4_inode(image: Path, path: str) -> int:
    """Inode number of `path` in an ext image (debugfs, read-only)."""
    proc = _run(["debugfs", "-R", f"stat {_debugfs_quote(path)}", image], env=_e2_env())
    out = proc.stdout.decode(errors="replace")
    for token in out.split():
        if token.isdigit():
            return int(token)
    raise ImagingError(f"debugfs: {path!r} not found in {image}: {proc.stderr.decode(errors='replace').strip()}")


def delete_in_ext4(image: Path, path: str, *, wipe_extents: bool = False) -> int:
    """Delete `path` with debugfs and return its inode number.

    Plain `rm` unlinks the name and frees inode and blocks but leaves the extent map in the
    inode, so TSK can still read the content through the inode. With `wipe_extents=True` the
    inode is also truncated the way the Linux kernel does it (size 0, no blocks, empty extent
    header), so the content survives ONLY in unallocated blocks and only carving can find it.
    """
    inode = ext4_inode(image, path)
    commands = [f"rm {_debugfs_quote(path)}"]
    if wipe_extents:
        # i_block[0] = extent header magic 0xF30A with eh_entries 0; [1] = eh_max 4, depth 0;
        # [3..5] = the first extent, zeroed.
        commands += [f"sif <{inode}> size 0", f"sif <{inode}> blocks 0",
                     f"sif <{inode}> block[0] 0xF30A", f"sif <{inode}> block[1] 4",
                     f"sif <{inode}> block[3] 0", f"sif <{inode}> block[4] 0", f"sif <{inode}> block[5] 0"]
    proc = _run(["debugfs", "-w", "-f", "-", image], env=_e2_env(),
                stdin=("\n".join(commands) + "\n").encode())
    errors = [line for line in proc.stderr.decode(errors="replace").splitlines()
              if line.strip() and not line.startswith("debugfs ")]
    if errors:
        raise ImagingError(f"debugfs could not delete {path!r} in {image}: {errors[0]}")
    return inode


# ---------------------------------------------------------------------------------------------
# FAT


def _mtools_env() -> dict[str, str]:
    return {"MTOOLS_SKIP_CHECK": "1", "MTOOLS_NO_VFAT": "0"}


def fat_from_tree(tree: Path, dest: Path, size_mib: int = 34, *, fat_bits: Literal[12, 16, 32] = 32,
                  volume_id: str = "5eed0001", label: str = "SEIZED") -> Path:
    """mkfs.fat + mcopy -s: a FAT image holding a copy of `tree` (symlinks are copied as files).

    FAT32 needs at least 65525 clusters, so with 512-byte clusters the image must be >= 33 MiB;
    use fat_bits=16 for smaller images.
    """
    if fat_bits == 32 and size_mib < 33:
        raise ImagingError("FAT32 needs an image of at least 33 MiB (use fat_bits=16 for smaller ones)")
    _blank(dest, size_mib)
    _run(["mkfs.fat", "-F", str(fat_bits), "-s", "1", "-S", str(SECTOR), "--invariant",
          "-i", volume_id, "-n", label, dest])
    with tempfile.TemporaryDirectory() as tmp:
        staged = _staged(tree, Path(tmp))
        entries = sorted(os.listdir(os.fsencode(staged)))
        if entries:
            _run(["mcopy", "-i", dest, "-s", "-m", "-p", "-Q",
                  *[os.path.join(os.fsencode(staged), e) for e in entries], "::/"], env=_mtools_env())
    return dest


def delete_in_fat(image: Path, path: str) -> None:
    """mdel ::PATH (the FAT way: first name byte set to 0xE5, clusters freed, chain zeroed)."""
    _run(["mdel", "-i", image, f"::{path}"], env=_mtools_env())


# ---------------------------------------------------------------------------------------------
# NTFS


def ntfs_from_tree(tree: Path, dest: Path, size_mib: int = 8, *, label: str = "SEIZED") -> Path:
    """mkntfs + ntfscp: an NTFS image holding the regular files at the top of `tree`.

    ntfscp cannot create directories without mounting, so a tree with subdirectories is an
    error; directory structure on NTFS is covered by the DFTT #7 peer image.
    """
    staged_names: list[bytes] = []
    for entry in sorted(os.scandir(os.fsencode(tree)), key=lambda e: e.name):
        if not entry.is_file(follow_symlinks=False):
            raise ImagingError(f"ntfs_from_tree: {os.fsdecode(entry.path)} is not a regular file "
                               "(ntfscp cannot make directories or links without mounting)")
        staged_names.append(entry.name)
    _blank(dest, size_mib)
    _run(["mkntfs", "-F", "-Q", "-q", "-T", "-s", str(SECTOR), "-p", "0", "-H", "0", "-S", "0",
          "-L", label, dest])
    with tempfile.TemporaryDirectory() as tmp:
        staged = _staged(tree, Path(tmp))
        for name in staged_names:
            _run(["ntfscp", "-q", "-t", dest, os.path.join(os.fsencode(staged), name),
                  b"/" + name])
    return dest


def add_ntfs_stream(image: Path, path: str, stream: str, content: bytes) -> None:
    """Write an alternate data stream `path:stream` into an existing NTFS file (ntfscp -N)."""
    with tempfile.NamedTemporaryFile() as fh:
        fh.write(content)
        fh.flush()
        _run(["ntfscp", "-q", "-N", stream, image, fh.name, path])


# ---------------------------------------------------------------------------------------------
# Partitioned disks

LINUX_GPT = "0FC63DAF-8483-4772-8E79-3D69D8477DE4"
BASIC_DATA_GPT = "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"


def sniff_fs(image: Path) -> str:
    """'ext', 'fat' or 'ntfs' from the first boot-sector/superblock bytes (for partition types)."""
    with open(image, "rb") as fh:
        head = fh.read(2048)
    if head[3:11] == b"NTFS    ":
        return "ntfs"
    if head[1080:1082] == b"\x53\xef":
        return "ext"
    if head[82:87] == b"FAT32" or head[54:59] in (b"FAT16", b"FAT12"):
        return "fat"
    raise ImagingError(f"{image}: not an ext, FAT or NTFS image")


def _mbr_type(image: Path) -> str:
    return {"ext": "83", "ntfs": "7", "fat": "c"}[sniff_fs(image)]


def _sectors(path: Path) -> int:
    """Size in sectors, rounded up to 1 MiB so partitions stay aligned."""
    size = path.stat().st_size
    return -(-size // MIB) * (MIB // SECTOR)


def partitioned_disk(dest: Path, partitions: Sequence[Path], *, label: Literal["gpt", "dos"] = "gpt",
                     logical: Sequence[Path] = ()) -> Path:
    """A disk with a partition table (sfdisk) and each file-system image written at its start.

    Partitions start at 1 MiB and are 1 MiB aligned. With label="dos" and `logical` images, the
    last primary entry is an extended partition (type 05) holding one logical partition per
    image, each preceded by its EBR in a 1 MiB gap, so TSK sees a real extended chain.
    Returns `dest`. Partition and disk identifiers are fixed, so the bytes are reproducible.
    """
    if logical and label != "dos":
        raise ImagingError("logical partitions need label='dos'")
    if label == "dos" and len(partitions) + (1 if logical else 0) > 4:
        raise ImagingError("an MBR holds at most 4 primary entries (3 when logical partitions are used)")
    align = MIB // SECTOR
    lines: list[str] = []
    placements: list[tuple[Path, int]] = []
    start = align
    for index, image in enumerate(partitions, 1):
        size = _sectors(image)
        if label == "gpt":
            gpt_type = LINUX_GPT if sniff_fs(image) == "ext" else BASIC_DATA_GPT
            lines.append(f"start={start}, size={size}, type={gpt_type}, "
                         f"uuid=5EED0000-0000-4000-8000-{index:012X}, name=\"part{index}\"")
        else:
            lines.append(f"start={start}, size={size}, type={_mbr_type(image)}")
        placements.append((image, start))
        start += size
    if logical:
        ext_start = start
        ext_size = sum(align + _sectors(img) for img in logical)
        lines.append(f"start={ext_start}, size={ext_size}, type=5")
        cursor = ext_start
        for image in logical:
            size = _sectors(image)
            lines.append(f"start={cursor + align}, size={size}, type={_mbr_type(image)}")
            placements.append((image, cursor + align))
            cursor += align + size
        start = ext_start + ext_size
    total = start + align  # room for the GPT backup header at the end
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest, "wb") as fh:
        fh.truncate(total * SECTOR)
    header = ["label: gpt", f"label-id: {FIXED_UUID.upper()}"] if label == "gpt" else \
        ["label: dos", "label-id: 0x5eed0001"]
    script = "\n".join(header + ["unit: sectors", "", *lines]) + "\n"
    _run(["sfdisk", "-q", "--no-reread", "--no-tell-kernel", dest], stdin=script.encode())
    for image, sector in placements:
        _run(["dd", f"if={image}", f"of={dest}", "bs=1M", f"seek={sector * SECTOR}", "oflag=seek_bytes",
              "conv=notrunc,sparse", "status=none"])
    return dest


# ---------------------------------------------------------------------------------------------
# Containers: split raw and EWF

SplitStyle = Literal["000", "001", "aa"]


def split_raw(image: Path, dest_prefix: Path, segment_bytes: int, style: SplitStyle = "000") -> list[Path]:
    """split(1) `image` into segments named `<dest_prefix>.000|.001|.aa`, ...; returns them in order."""
    dest_prefix.parent.mkdir(parents=True, exist_ok=True)
    prefix = os.fsencode(dest_prefix) + b"."
    if style == "000":
        args = ["-d", "-a", "3"]
    elif style == "001":
        args = ["--numeric-suffixes=1", "-a", "3"]
    elif style == "aa":
        args = ["-a", "2"]
    else:
        raise ImagingError(f"unknown split style {style!r}")
    _run(["split", "-b", str(segment_bytes), *args, image, prefix])
    segments = sorted(p for p in dest_prefix.parent.iterdir()
                      if p.name.startswith(dest_prefix.name + ".") and len(p.name) == len(dest_prefix.name) + 1 + len(style))
    if not segments:
        raise ImagingError(f"split produced no segments for {image}")
    return segments


def ewf_from_raw(image: Path, dest: Path, *, segment_bytes: int | None = None,
                 case_number: str = "SEIZED-TEST-1", evidence_number: str = "E-1",
                 examiner: str = "Test Examiner", description: str = "seized test image",
                 notes: str = "built by tests/imaging.py") -> Path:
    """ewfacquire -u: an EnCase 6 image (uncompressed deflate, MD5 + SHA-1 stored) of `image`.

    `dest` is the first segment (`X.E01`, or `X` to which `.E01` is added). With
    `segment_bytes` (>= 1 MiB) the image is split into .E01, .E02, ...
    """
    target = dest.with_suffix("") if dest.suffix.upper() == ".E01" else dest
    target.parent.mkdir(parents=True, exist_ok=True)
    args = ["ewfacquire", "-u", "-q", "-t", target, "-f", "encase6", "-c", "deflate:none",
            "-d", "sha1", "-C", case_number, "-E", evidence_number, "-e", examiner,
            "-D", description, "-N", notes, "-m", "fixed", "-M", "physical"]
    if segment_bytes is not None:
        args += ["-S", str(segment_bytes)]
    _run([*args, image])
    first = target.parent / (target.name + ".E01")
    if not first.exists():
        raise ImagingError(f"ewfacquire did not write {first}")
    return first


def ewf_segments(first: Path) -> list[Path]:
    """All segment files of an EWF image given its .E01 (E01..E99)."""
    stem = first.with_suffix("")
    return [p for p in (stem.parent / f"{stem.name}.E{n:02d}" for n in range(1, 100)) if p.exists()]


def truncated_copy(src: Path, dest: Path, keep_bytes: int | None = None) -> Path:
    """Copy the first half (or `keep_bytes`) of `src` to `dest`: a damaged container."""
    size = src.stat().st_size
    keep = size // 2 if keep_bytes is None else keep_bytes
    with open(src, "rb") as fin, open(dest, "wb") as fout:
        fout.write(fin.read(keep))
    return dest


def concatenated(parts: Iterable[Path], dest: Path) -> Path:
    """Join segments into one raw file (cat), e.g. to hash a split image as one medium."""
    with open(dest, "wb") as fout:
        for part in parts:
            with open(part, "rb") as fin:
                shutil.copyfileobj(fin, fout, 4 * MIB)
    return dest
