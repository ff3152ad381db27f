"""Read the package databases of one evidence item from the image, read-only, per file system.

I/O at the edge: the conductor's plan already knows every file's path, volume and content
reference (ingest.units.FileTask), so the few database files are found by path without a
second walk and read with the same readers the workers use (TSK, or libfsxfs). Parsing is
known.dpkg and known.rpm; the result is one Arrow table of what each package says it owns,
per volume, for known.classify to join with `files`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pyarrow as pa

from caseformat.problems import Problem, Stage
from ingest.problems import one_line
from known import dpkg, rpm

if TYPE_CHECKING:
    from ingest.units import FileTask

DPKG_STATUS = "/var/lib/dpkg/status"
DPKG_INFO = "/var/lib/dpkg/info/"
RPM_SQLITE = ("/var/lib/rpm/rpmdb.sqlite", "/usr/lib/sysimage/rpm/rpmdb.sqlite")
RPM_BDB = ("/var/lib/rpm/Packages", "/usr/lib/sysimage/rpm/Packages")
MAX_DB_FILE = 512 * 1024 * 1024
READ_BLOCK = 4 * 1024 * 1024

# One row per (volume, path, package) a package database names.
OWNED = pa.schema([
    ("volume", pa.string()), ("path", pa.string()), ("package", pa.string()), ("algo", pa.string()),
    ("digest", pa.string()), ("conffile", pa.bool_()), ("db", pa.string()),
])


@dataclass
class PackageDatabases:
    owned: pa.Table  # OWNED
    problems: list[Problem] = field(default_factory=list)  # stage known-files
    packages: dict[str, int] = field(default_factory=dict)  # "volume db" -> packages read


VAR = "/var"  # a file system whose root holds lib/dpkg or lib/rpm is the server's /var partition


def database_problem(volume: str | None, path: str | None, error: str) -> Problem:
    """A package database that could not be read (whole or in part): its files stay unclassified."""
    return Problem(volume, path, None, None, Stage.KNOWN_FILES, error)


def _wanted(path: str) -> bool:
    if path == DPKG_STATUS or path in RPM_SQLITE or path in RPM_BDB or path.removesuffix("-wal") in RPM_SQLITE:
        return True
    return path.startswith(DPKG_INFO) and path.endswith((".md5sums", ".list"))


def database_tasks(plan) -> dict[str, dict[str, "FileTask"]]:
    """volume -> path -> task, for the allocated package-database files of an evidence plan.
    Paths are as the running system saw them: on a separate /var file system,
    `/lib/dpkg/status` is `/var/lib/dpkg/status`."""
    out: dict[str, dict[str, FileTask]] = {}
    for unit in plan.units:
        for task in unit.files:
            if task.stream is not None or not task.path.startswith(("/var/lib/", "/usr/lib/", "/lib/")):
                continue
            path = task.path if _wanted(task.path) else VAR + task.path
            if (path == task.path or task.path.startswith("/lib/")) and _wanted(path) and \
                    plan.records[task.index].allocated:
                out.setdefault(task.volume.id, {})[path] = task
    return out


def _var_volumes(tasks: dict[str, dict[str, "FileTask"]]) -> set[str]:
    """Volumes whose databases were found at /lib/... (their own root is the system's /var)."""
    return {vol for vol, files in tasks.items()
            if any(t.path.startswith("/lib/") and p.startswith(VAR + "/") for p, t in files.items())}


def _spread(owned: pa.Table, var_volumes: set[str], walked: list[str], with_db: set[str]) -> pa.Table:
    """A database on a /var partition describes the whole system: its rows apply to every file
    system of the evidence that has no database of its own, and to the /var partition itself
    with the /var prefix taken off its paths."""
    if not var_volumes or owned.num_rows == 0:
        return owned
    import pyarrow.compute as pc

    parts = [owned.filter(pc.invert(pc.is_in(owned.column("volume"), value_set=pa.array(sorted(var_volumes)))))]
    for var in sorted(var_volumes):
        rows = owned.filter(pc.equal(owned.column("volume"), var))
        on_var = rows.filter(pc.starts_with(rows.column("path"), VAR + "/"))
        on_var = on_var.set_column(1, "path", pc.utf8_slice_codeunits(on_var.column("path"), len(VAR)))
        parts.append(on_var)
        for target in walked:
            if target != var and target not in with_db:
                parts.append(rows.set_column(0, "volume", pa.array([target] * rows.num_rows, pa.string())))
    return pa.concat_tables(parts)


class _Reader:
    """Opens the image once and each file system once (read-only, as the worker does)."""

    def __init__(self, spec) -> None:
        from ingest.images import open_image

        self.reader = open_image(spec)
        self.filesystems: dict[tuple[str, str], object] = {}

    def read(self, task: "FileTask") -> bytes:
        from ingest.filesystems import open_tsk, read_stream
        from ingest.xfs import open_xfs, read_xfs_stream

        if task.ref.size > MAX_DB_FILE:
            raise OSError(f"{task.ref.size} bytes, more than the {MAX_DB_FILE} read for a package database file")
        key = (task.volume.id, task.fs_kind)
        fs = self.filesystems.get(key)
        if fs is None:
            fs = self.filesystems[key] = (open_xfs if task.fs_kind == "xfs" else open_tsk)(self.reader, task.volume)
        stream = read_xfs_stream if task.fs_kind == "xfs" else read_stream
        data = b"".join(stream(fs, task.ref, READ_BLOCK))
        if len(data) != task.ref.size:
            raise OSError(f"read {len(data)} of {task.ref.size} bytes")
        return data

    def close(self) -> None:
        self.filesystems.clear()
        self.reader.close()


def read_package_databases(plan) -> PackageDatabases:
    """Every dpkg and rpm database on the evidence's file systems, as owned-path rows."""
    tasks = database_tasks(plan)
    result = PackageDatabases(OWNED.empty_table())
    if not tasks:
        return result
    columns: dict[str, list] = {f.name: [] for f in OWNED}

    def add(volume, path, package, algo, digest, conffile, db):
        for name, value in zip(OWNED.names, (volume, path, package, algo, digest, conffile, db)):
            columns[name].append(value)

    reader = _Reader(plan.spec)
    try:
        for volume, files in sorted(tasks.items()):
            def read(path: str) -> bytes | None:
                try:
                    return reader.read(files[path])
                except (OSError, RuntimeError) as exc:
                    result.problems.append(database_problem(volume, path, f"package database file not read: "
                                                                          f"{one_line(exc)}"))
                    return None

            if DPKG_STATUS in files:
                _dpkg(volume, files, read, add, result)
            for path in RPM_SQLITE:
                if path in files and (data := read(path)) is not None:
                    wal = read(path + "-wal") if path + "-wal" in files else None
                    packages, problems = rpm.read_rpmdb_sqlite(data, wal)
                    result.problems.extend(database_problem(volume, path, p) for p in problems)
                    result.packages[f"{volume} rpm"] = len(packages)
                    for pkg in packages:
                        for f in pkg.files:
                            add(volume, f.path, pkg.label, pkg.digest_algo if f.digest else None, f.digest,
                                f.config, "rpm")
            for path in RPM_BDB:
                if path in files and not any(p in files for p in RPM_SQLITE):
                    result.problems.append(database_problem(volume, path, "rpm Berkeley DB package database not "
                                                            "read (only rpmdb.sqlite is); files of rpm packages "
                                                            "stay 'unknown'"))
    finally:
        reader.close()
    var_volumes = _var_volumes(tasks)
    for var in var_volumes:
        for key in [k for k in result.packages if k.startswith(var + " ")]:
            result.packages[f"{key} (a /var file system)"] = result.packages.pop(key)
    walked = [r["volume"] for r in plan.volume_rows if r.get("fs_type")]
    result.owned = _spread(pa.table(columns, schema=OWNED), var_volumes, walked, set(tasks) - var_volumes)
    return result


def _dpkg(volume, files, read, add, result: PackageDatabases) -> None:
    data = read(DPKG_STATUS)
    if data is None:
        return
    packages = dpkg.parse_status(data)
    by_name: dict[str, list[dpkg.DpkgPackage]] = {}
    for pkg in packages:
        by_name.setdefault(pkg.name, []).append(pkg)
    result.packages[f"{volume} dpkg"] = sum(1 for p in packages if p.installed)

    def label(name: str, arch: str | None) -> str:
        cands = by_name.get(name, [])
        picked = [p for p in cands if arch is None or p.architecture in (arch, "all")] or cands
        return picked[0].label if picked else name

    for pkg in packages:
        for path, digest in pkg.conffiles:
            add(volume, path, pkg.label, "md5", digest, True, "dpkg")
    with_digests: set[tuple[str, str | None]] = set()
    for path in sorted(files):
        info = dpkg.info_package(path[len(DPKG_INFO):]) if path.startswith(DPKG_INFO) else None
        if info is None or info[2] != "md5sums":
            continue
        data = read(path)
        if data is None:
            continue
        name, arch, _ = info
        with_digests.add((name, arch))
        pkg_label = label(name, arch)
        for owned, digest in dpkg.parse_md5sums(data):
            add(volume, owned, pkg_label, "md5", digest, False, "dpkg")
    for path in sorted(files):
        info = dpkg.info_package(path[len(DPKG_INFO):]) if path.startswith(DPKG_INFO) else None
        if info is None or info[2] != "list":
            continue
        data = read(path)
        if data is None:
            continue
        name, arch, _ = info
        pkg_label = label(name, arch)
        for owned in dpkg.parse_list(data):
            add(volume, owned, pkg_label, None, None, False, "dpkg")
