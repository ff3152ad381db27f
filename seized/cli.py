"""The `seized` command: scan, report, verify.

Every expected failure ends as one line on stderr and a non-zero exit; a traceback is
shown only with --debug, because examiners paste error lines into their notes.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


def _say(text: str) -> None:
    """Information goes to stdout; stderr carries only errors, one line each."""
    click.echo(f"seized: {text}")


def _count(n: int, noun: str) -> str:
    """"1 image", "2 images": the CLI's lines agree in number as the declaration's do."""
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _warn(text: str) -> None:
    click.echo(f"seized: error: {text}", err=True)


def _fail(text: str, code: int = EXIT_USAGE) -> None:
    _warn(text)
    sys.exit(code)


class _Group(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, SystemExit):
            raise
        except KeyboardInterrupt as exc:  # SIGINT, or SIGTERM through seized.interrupt: 130 / 143
            from seized.interrupt import from_keyboard_interrupt

            stopped = exc if getattr(exc, "line", None) else from_keyboard_interrupt(exc, None, None)
            _fail(stopped.line(), stopped.exit_code)
        except Exception as exc:  # the one-line promise holds for bugs too
            if os.environ.get("SEIZED_DEBUG") or ctx.params.get("debug"):
                raise
            known = _known_error(exc)
            if known:
                _fail(known)
            _fail(f"internal error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''} "
                  "(set SEIZED_DEBUG=1 for a traceback)", EXIT_INTERNAL)


def _known_error(exc: Exception) -> str | None:
    from caseformat.casedir import CaseDirError
    from seized.cluster import ClusterError
    from reports.case import ReportError

    from known.hashsets import HashSetError

    kinds: tuple[type, ...] = (CaseDirError, ClusterError, HashSetError, ReportError)
    try:
        from seized.ruleset import RuleCompileError

        kinds += (RuleCompileError,)
    except ImportError:
        pass
    if isinstance(exc, kinds):
        return str(exc)
    if isinstance(exc, OSError) and exc.errno is not None:
        return f"{exc.filename or ''}: {exc.strerror}".lstrip(": ")
    return None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="seized")
def cli() -> None:
    """seized - evidence and forensic triage for disk images of seized servers.

    Opens disk images read-only, walks every volume and file system with The Sleuth Kit,
    finds harvested addresses, credential lists, spam templates, Tor configurations,
    network indicators and YARA hits, and writes Parquet evidence tables and
    declaration-ready reports. Nothing touches the network, and the evidence is never
    written to.
    """


@cli.command()
@click.argument("images", nargs=-1, required=True, metavar="IMAGE...")
@click.option("-o", "--output", "case", required=True, type=click.Path(path_type=Path),
              help="Case directory to write (created 0700; resumed if it holds this same scan).")
@click.option("--workers", type=click.IntRange(min=0), default=None,
              help="Local Dask worker processes (default: one per core; 0 = run in this process).")
@click.option("--scheduler", metavar="ADDRESS", default=None,
              help="Run on an existing Dask cluster (e.g. tcp://10.0.0.5:8786) instead of a local one.")
@click.option("--rules", "rule_paths", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="YARA rule file or folder to add (repeatable).")
@click.option("--no-default-rules", is_flag=True, help="Leave the shipped YARA rule set out.")
@click.option("--no-containers", is_flag=True, help="Do not open gzip/bzip2/xz/zip/tar members.")
@click.option("--no-unallocated", is_flag=True, help="Do not scan unallocated space and slack.")
@click.option("--case-name", default=None, help="Case caption for the report.")
@click.option("--examiner", default=None, help="Examiner's name for the report.")
@click.option("--no-report", is_flag=True, help="Write the tables only; run `seized report` later.")
@click.option("--force", is_flag=True,
              help="Replace a case directory that holds a different seized case; removes only seized's own "
                   "entries (manifest.json, tables/, report/, report-working/, .journal/), never other files.")
@click.option("--known-hashes", "known_hashes", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Hash set of known files: NSRL RDS v3 (.db) or md5sum/sha1sum/sha256sum list (repeatable).")
@click.option("--notable-hashes", "notable_hashes", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Hash set of notable files (malware, contraband), same formats (repeatable).")
@click.option("--debug", is_flag=True, hidden=True)
def scan(images, case, workers, scheduler, rule_paths, no_default_rules, no_containers, no_unallocated,
         case_name, examiner, no_report, force, known_hashes, notable_hashes, debug) -> None:
    """Scan disk images into a case directory of evidence tables.

    \b
    DESCRIPTION
      Each IMAGE is one evidence item: a raw/dd image, the first segment of a split raw
      image (.000/.001/.aa...), or an EWF image (.E01). Its evidence id is derived from
      the SHA-256 of its media, never from its name. The image is opened read-only,
      hashed (MD5, SHA-1, SHA-256; EWF acquisition hashes are compared), its partition
      table (MBR, GPT, or none) and every file system TSK reads are walked, including
      deleted names and orphan files, and every regular file's content, archive member
      and unallocated region is scanned by the extractors and the YARA rules.

    \b
    OUTPUT
      CASE/tables/<name>/part-0.parquet  evidence, volumes, files, errors, emails,
                                         harvest_lists, credentials, spam_templates,
                                         tor, indicators, yara
      CASE/manifest.json                 versions, command line, times, hashes,
                                         accounting (seen = scanned + skipped + errored)
      CASE/report/                       declaration (md, html, docx), summary.json

    \b
    RESUMING
      A killed scan resumes when the same command is run again: finished units are
      kept in CASE/.journal and only the rest is scanned.

    \b
    SAFETY
      The evidence is only read. The case directory may not be, contain, or lie inside
      an image's folder (resolved paths, device and inode compared); a folder holding
      anything but a seized case is refused even with --force. A refused scan writes
      nothing. Damaged media: with no partition table or file system recognised, file
      systems are searched at aligned offsets (status `recovered`), and every byte no
      file owns is scanned as unallocated (status `raw` when nothing was found).

    \b
    CLUSTERS
      --scheduler runs on an existing Dask cluster; every worker must see the images at
      the same path as this machine and run the same seized (both checked before scanning).

    \b
    KNOWN FILES
      Every hashed file gets known_status in `files`: known (its hash equals what the
      evidence's own dpkg or rpm database recorded, or is in a --known-hashes set),
      modified (a package's file whose content differs), modified-config (a changed
      conffile), notable (in a --notable-hashes set) or unknown. docs/known-files.md.

    \b
    EXIT STATUS
      0  every image scanned      1  some images failed (the others are written)
      2  nothing scanned, bad arguments or rules, or a refused case directory
      3  internal error           130 / 143  interrupted (SIGINT / SIGTERM); run again to resume

    \b
    EXAMPLES
      seized scan /evidence/drive1.E01 /evidence/drive2.dd -o /cases/rustock
      seized scan disk.001 -o case --rules my_rules/ --workers 8
    """
    workers = os.cpu_count() or 1 if workers is None else workers
    _check_hash_sets(list(known_hashes) + list(notable_hashes))  # a bad set: one line, exit 2, before a cluster
    rule_set = None
    if rule_paths or not no_default_rules:  # a bad rule file ends the command here, before a cluster starts
        from seized.ruleset import load_rule_set

        rule_set = load_rule_set(list(rule_paths), not no_default_rules)
    cluster = None
    if workers != 0 and not scheduler and all(os.path.isfile(p) for p in images):
        from seized.offline import local_workers

        cluster = local_workers(workers, _say)  # starts while the conductor is imported
    try:
        from seized.conductor import ScanRequest, scan as run_scan

        request = ScanRequest(
            images=list(images), case=case, workers=workers,
            scheduler=scheduler, rule_paths=list(rule_paths), default_rules=not no_default_rules, force=force,
            command_line=["seized", *sys.argv[1:]], case_name=case_name, examiner=examiner,
            containers=not no_containers, unallocated=not no_unallocated,
            while_units_run=None if no_report else _import_report_modules, rule_set=rule_set,
            known_hashes=list(known_hashes), notable_hashes=list(notable_hashes),
        )
    except BaseException:
        if cluster is not None:
            cluster.join()
        raise
    outcome = run_scan(request, _say, _warn, cluster)  # stops the cluster before it returns
    if outcome.manifest is None:
        sys.exit(outcome.exit_code)
    _print_accounting(outcome.manifest)
    if not no_report:
        _render(case, case_name, examiner, reveal_secrets=False)
    if outcome.failures:
        _say(f"{_count(len(outcome.failures), 'image')} failed: " + ", ".join(f.image for f in outcome.failures))
    sys.exit(outcome.exit_code)


def _check_hash_sets(paths: list[Path]) -> None:
    from known.hashsets import HashSetError, check_hash_set

    for path in paths:
        try:
            check_hash_set(path)
        except HashSetError as exc:
            _fail(str(exc))


def _print_accounting(manifest: dict) -> None:
    for ev in manifest["evidence"]:
        acc = manifest["accounting"].get(ev["evidence_id"], {})
        verified = {True: ", acquisition hash verified", False: ", ACQUISITION HASH MISMATCH", None: ""}[ev["verified"]]
        _say(f"evidence {ev['evidence_id']} ({Path(ev['path']).name}): sha256 {ev['sha256']}{verified}")
        _say(f"  files seen {acc.get('files_seen', 0)} = scanned {acc.get('files_scanned', 0)} + skipped "
             f"{acc.get('files_skipped', 0)} + errored {acc.get('files_errored', 0)}; bytes {acc.get('image_bytes', 0)}"
             f" = allocated {acc.get('allocated_bytes', 0)} + unallocated scanned "
             f"{acc.get('unallocated_scanned_bytes', 0)} + unreadable {acc.get('unreadable_bytes', 0)}")
    counts = ", ".join(f"{name} {info['rows']}" for name, info in sorted(manifest["tables"].items()))
    _say(f"tables: {counts}")


def _import_report_modules() -> None:
    """Import matplotlib, python-docx and the report code (about a second) while the workers
    scan, rather than after the tables are written."""
    try:
        import reports.render  # noqa: F401
    except Exception:  # noqa: BLE001 - _render imports it again and reports the failure in one line
        pass


def _render(case: Path, case_name, examiner, reveal_secrets: bool) -> None:
    from reports.render import render_report  # a broken install is an internal error, not a missing report

    out = render_report(case, case_name=case_name, examiner=examiner, reveal_secrets=reveal_secrets)
    _say(f"report: {out}")


@cli.command()
@click.argument("case", type=click.Path(path_type=Path))
@click.option("--case-name", default=None, help="Case caption (default: from the scan or case.toml).")
@click.option("--examiner", default=None, help="Examiner's name (default: from the scan or case.toml).")
@click.option("--reveal-secrets", is_flag=True,
              help="Write the examiner's working copy, passwords in full and marked as such on every page and "
                   "section, to CASE/report-working/; the filing copy in CASE/report/ is left as it is.")
@click.option("--debug", is_flag=True, hidden=True)
def report(case, case_name, examiner, reveal_secrets, debug) -> None:
    """Write CASE/report/ from the tables and manifest.json alone (CASE/report-working/ with --reveal-secrets)."""
    _open_case(case)
    _render(case, case_name, examiner, reveal_secrets)


@cli.command()
@click.argument("case", type=click.Path(path_type=Path))
@click.option("--no-images", is_flag=True, help="Check tables and report only, not the evidence images.")
@click.option("--debug", is_flag=True, hidden=True)
def verify(case, no_images, debug) -> None:
    """Re-hash tables, report files and evidence images against manifest.json (exit 0 only if all match)."""
    from reports.verify import verified_line, verify_case

    _open_case(case, check_tables=False)  # a changed or missing table is a verify finding (exit 1)
    problems = verify_case(case, check_images=not no_images)
    for line in problems:
        _warn(line)
    if problems:
        if no_images:
            _warn("the evidence images were NOT checked (--no-images)")
        sys.exit(1)
    _say(verified_line(case, check_images=not no_images))


@cli.command()
@click.argument("finding_id")
@click.argument("case", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--raw", is_flag=True, help="Write only the finding's bytes to stdout (for cmp, xxd, ...).")
@click.option("--debug", is_flag=True, hidden=True)
def show(finding_id, case, raw, debug) -> None:
    """Print a finding's bytes, read again from the evidence (read-only), with their provenance.

    \b
    The chain printed: image (path, format, size), evidence id and exhibit, volume (start
    sector, layers), file system, inode, path, stream, archive members (each level expanded
    in memory), offset in the object and in the image, then the bytes as text and in hex.
    Appendix A of the declaration uses it where no chain of standard tools reaches the
    bytes. Run it where the images are at the paths recorded in manifest.json.

    \b
    EXAMPLE
      seized show 7c132f9bb7a6f3f9d061 /cases/rustock
    """
    from reports.show import ShowError, render, show_finding

    try:
        shown = show_finding(case, finding_id)
    except ShowError as exc:
        _fail(str(exc), 1)
    if raw:
        sys.stdout.buffer.write(shown.data)
        sys.stdout.buffer.flush()
        return
    click.echo(render(shown), nl=False)


@cli.command()
@click.argument("case", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--from", "start", metavar="TIME", default=None, help="From this UTC time or date (ISO prefix, e.g. 2011-03-16).")
@click.option("--to", "end", metavar="TIME", default=None, help="Up to the end of this UTC time or date (ISO prefix).")
@click.option("--evidence", metavar="ID", default=None, help="Only this evidence id (or its first digits), or exhibit E1, E2...")
@click.option("--user", default=None, help="Only rows of this user.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the rows to this CSV file instead of printing them.")
@click.option("--debug", is_flag=True, hidden=True)
def timeline(case, start, end, evidence, user, csv_path, debug) -> None:
    """Print the case's timeline (file times, logins, commands, packages, crontabs, mail days), sorted."""
    from seized.timeline_cli import run_timeline

    _open_case(case)
    problem = run_timeline(case, start, end, evidence, user, csv_path, click.echo)
    if problem:
        _fail(problem)


def _open_case(case: Path, check_tables: bool = True) -> dict:
    """The case's manifest, or one line naming what is wrong with the directory and exit 2."""
    from caseformat.casedir import CaseDirError
    from reports.casedir import open_case

    try:
        return open_case(case, check_tables=check_tables)
    except CaseDirError as exc:
        _fail(str(exc))


@cli.command()
@click.argument("case", type=click.Path(path_type=Path))
@click.argument("sql")
@click.option("--csv", "as_csv", is_flag=True, help="CSV with a header line (streamed).")
@click.option("--json", "as_json", is_flag=True, help="JSON Lines: one object per row (streamed).")
@click.option("--debug", is_flag=True, hidden=True)
def query(case, sql, as_csv, as_json, debug) -> None:
    """Run SQL (DuckDB) over the case's tables, read-only.

    \b
    Every table is a view of its own name (evidence, files, emails, credentials, ...), and
    `findings` is every finding table's provenance columns with a `table_name` column.
    The case is never written to: the query cannot read or write any other file.

    \b
    EXAMPLES
      seized query /cases/rustock "SELECT domain, count(*) n FROM emails GROUP BY 1 ORDER BY 2 DESC LIMIT 10"
      seized query /cases/rustock "SELECT * FROM findings WHERE path LIKE '%/tmp/%'" --csv > tmp.csv
    """
    from caseformat.duckcase import scratch_dir
    from exports.sql import connect

    if as_csv and as_json:
        _fail("--csv and --json are exclusive")
    manifest = _open_case(case)
    with scratch_dir(None, ".seized-query-tmp-") as scratch:  # DuckDB's spill: never in the case
        con = connect(case, manifest, scratch)
        try:
            _query(con, sql, as_csv, as_json)
        finally:
            con.close()  # its spill files go before the folder does


def _query(con, sql: str, as_csv: bool, as_json: bool) -> None:
    from exports import output
    from exports.sql import QueryError, run_query

    try:
        result = run_query(con, sql)
        if result is None:
            _fail("query: the statement returns no rows (only SELECT-like queries are useful here)")
        if as_csv:
            output.write_csv(result, sys.stdout.buffer)
        elif as_json:
            output.write_jsonl(result, sys.stdout)
        else:
            output.write_table(result, sys.stdout)
    except QueryError as exc:
        _fail(str(exc))
    except Exception as exc:  # noqa: BLE001 - DuckDB raises its errors while rows are fetched too
        import duckdb

        if isinstance(exc, duckdb.Error):
            _fail(f"query: {str(exc).strip().splitlines()[0]}")
        raise


@cli.command()
@click.argument("case", type=click.Path(path_type=Path))
@click.option("--format", "fmt", required=True,
              type=click.Choice(["bulk_extractor", "dfxml", "bodyfile", "case-uco", "csv", "jsonl"]),
              help="bulk_extractor feature files, DFXML, TSK body file, CASE/UCO JSON-LD, or CSV / JSON Lines tables.")
@click.option("-o", "--output", "out", required=True, type=click.Path(path_type=Path),
              help="Folder to write (created; must be new or empty).")
@click.option("--table", "tables", multiple=True,
              help="Table to export (repeatable; csv, jsonl and case-uco findings; default: every table).")
@click.option("--reveal-secrets", is_flag=True,
              help="csv/jsonl: write passwords as found (examiner's working copy; key material never).")
@click.option("--debug", is_flag=True, hidden=True)
def export(case, fmt, out, tables, reveal_secrets, debug) -> None:
    """Export the case for other tools; every file written is recorded in manifest.json.

    \b
    FORMATS
      bulk_extractor  OUT/EVIDENCE_ID/{email,domain,url,ip}.txt, *_histogram.txt, report.xml
      dfxml           OUT/seized.dfxml (one fileobject per file, image hashes, creator)
      bodyfile        OUT/seized.body (for `mactime -b`)
      case-uco        OUT/seized-case.jsonld (CASE 1.x: evidence, files, findings)
      csv, jsonl      OUT/TABLE.csv / .jsonl (secrets redacted unless --reveal-secrets)

    \b
    `seized verify CASE` re-checks every exported file against the SHA-256 in manifest.json.
    """
    from exports.run import ExportError, export_case

    manifest = _open_case(case)
    try:
        written = export_case(case, manifest, fmt, out, list(tables) or None, reveal_secrets)
    except ExportError as exc:
        _fail(str(exc))
    _say(f"export {fmt}: {_count(len(written), 'file')} in {out}, recorded in {case / 'manifest.json'}")


def main() -> None:
    os.umask(0o077)  # every folder and file of a case is the examiner's alone (workers inherit it)
    from seized.interrupt import install_handlers

    install_handlers()  # SIGINT and SIGTERM: one line, exit 130 / 143 (docs/safety.md)
    try:
        cli(prog_name="seized")
        code: int | str | None = 0
    except SystemExit as exc:
        code = exc.code
    _exit_without_teardown(code)


def _exit_without_teardown(code: int | str | None) -> None:
    """End the process once every file is written and every exit hook has run, without the
    interpreter's teardown: freeing Dask's, Arrow's and matplotlib's modules object by object
    is half a second of CPU after the last line is printed, on every scan and report."""
    import atexit
    import threading

    if isinstance(code, str):  # sys.exit("text") prints the text and exits 1
        click.echo(code, err=True)
        code = 1
    # what Python's own exit runs first, in its order: join the non-daemon threads (with
    # concurrent.futures' hook that lets idle pool threads go), then the atexit hooks
    # (multiprocessing's: join children, stop the fork server; logging's: flush)
    getattr(threading, "_shutdown", lambda: None)()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`seized ... | head`) has nothing left to take
            pass
    os._exit(0 if code is None else int(code))
