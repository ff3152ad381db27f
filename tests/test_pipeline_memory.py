"""Bounded worker memory: a unit's rows spilled as sorted runs give the same table as rows held
whole, in order or not; the harvest judgement's tally holds every address the file's windows own."""
import pyarrow as pa
import pyarrow.ipc

from dataclasses import replace

from caseformat.journal import read_batches
from extractors import harvest
from extractors.harvest import AddressTally, judge_harvest_list
from extractors.registry import EXTRACTORS, JUDGEMENTS
from seized.scanning import NO_MAP, Judging, ObjectContext, Rows, Window, scan_window
from seized.worker import _to_arrow, _write_runs

EMAILS = tuple(e for e in EXTRACTORS if e.name == "emails")


def _ctx(member=None):
    return ObjectContext("v1", 12, None, "/home/spam/list.txt", member, "list.txt", None, NO_MAP,
                         "member" if member else "file")


def _list(n, tag):
    return b"".join(f"{tag}{i}@example{i % 7}.com\n".encode() for i in range(n))


def _fill(rows, judging):
    # the file's own rows, then a member's (which sort before them: member null sorts last)
    scan_window(Window(_list(900, "own"), 0, 0, 10**9, True, 0), _ctx(), EMAILS, rows, judging)
    scan_window(Window(_list(300, "mem"), 0, 0, 10**9, True, 0), _ctx("inner.txt"), EMAILS, rows, Judging(JUDGEMENTS))
    scan_window(Window(_list(50, "late"), 10**6, 10**6, 10**9, False, 0), _ctx(), EMAILS, rows, judging)


def _read(path):
    with pa.memory_map(str(path)) as src:
        return pa.ipc.open_file(src).read_all()


def test_spilled_runs_give_the_held_table(tmp_path):
    held = Rows()
    _fill(held, Judging(JUDGEMENTS))
    want = _to_arrow(held)["emails"]
    for spill_rows in (100, 299, 1000, 10**6):
        folder = tmp_path / str(spill_rows)
        folder.mkdir()
        rows = Rows(spill_dir=folder, spill_rows=spill_rows)
        _fill(rows, Judging(JUDGEMENTS))
        _write_runs(folder / "emails.arrow", "emails", rows)
        got = _read(folder / "emails.arrow")
        assert got.equals(want), spill_rows
        assert [p.name for p in folder.iterdir()] == ["emails.arrow"]  # runs removed


def test_rows_held_stay_under_the_bound(tmp_path):
    rows = Rows(spill_dir=tmp_path, spill_rows=200)
    for part in range(6):
        scan_window(Window(_list(150, f"p{part}x"), 0, 0, 10**9, True, 0), _ctx(), EMAILS, rows, Judging(JUDGEMENTS))
        assert rows.held.get("emails", 0) < 200 + 150
    assert len(rows.spilled["emails"]) >= 3


def test_harvest_tally_holds_every_owned_address():
    rows, tally = Rows(), AddressTally()
    _fill(rows, Judging([replace(harvest.JUDGEMENT, tally=lambda: tally)]))
    plain = _read_addresses(rows)
    assert tally.count == len(plain) == 950 and tally.distinct() == len(set(plain))
    size = sum(len(a) + 1 for a in plain)
    assert tally.covered == size
    assert tally.verdicts(size) == [judge_harvest_list(plain, size)]


def _read_addresses(rows):
    return [a for t in rows.batches["emails"] for a, m in zip(t.column("address").to_pylist(),
                                                               t.column("member").to_pylist()) if m is None]


def test_merge_of_interleaved_runs_in_small_batches(tmp_path, monkeypatch):
    import seized.scanning
    import seized.worker

    monkeypatch.setattr(seized.scanning, "MERGE_BATCH", 7)
    monkeypatch.setattr(seized.worker, "MERGE_BATCH", 7)
    held = Rows()
    _fill(held, Judging(JUDGEMENTS))
    want = _to_arrow(held)["emails"]
    for spill_rows in (50, 333):
        folder = tmp_path / str(spill_rows)
        folder.mkdir()
        rows = Rows(spill_dir=folder, spill_rows=spill_rows)
        _fill(rows, Judging(JUDGEMENTS))
        _write_runs(folder / "emails.arrow", "emails", rows)
        assert _read(folder / "emails.arrow").equals(want), spill_rows


def test_spilling_by_bytes_gives_the_held_table(tmp_path):
    held = Rows()
    _fill(held, Judging(JUDGEMENTS))
    want = _to_arrow(held)["emails"]
    for spill_bytes in (5_000, 40_000, 10**9):
        folder = tmp_path / str(spill_bytes)
        folder.mkdir()
        rows = Rows(spill_dir=folder, spill_bytes=spill_bytes)
        _fill(rows, Judging(JUDGEMENTS))
        spilled = len(rows.spilled.get("emails", ()))
        assert (spilled >= 2) == (spill_bytes < 10**9), (spill_bytes, spilled)
        assert rows.held_bytes["emails"] < spill_bytes
        _write_runs(folder / "emails.arrow", "emails", rows)
        assert _read(folder / "emails.arrow").equals(want), spill_bytes


def _fill_small(rows):
    # many small windows, a member's rows between the file's: runs that overlap, so they are merged
    judging = Judging(JUDGEMENTS)
    for part in range(60):
        start = part * 10**4
        scan_window(Window(_list(10, f"w{part:02d}x"), start, start, start + 10**4, False, 0), _ctx(), EMAILS,
                    rows, judging)
        scan_window(Window(_list(4, f"m{part:02d}x"), start, start, start + 10**4, False, 0), _ctx("inner.txt"),
                    EMAILS, rows, Judging(JUDGEMENTS))


def test_merge_of_many_runs_holds_a_bounded_number_of_rows(tmp_path, monkeypatch):
    """However many runs a unit spilled, a round of the merge loads about MERGE_TOTAL rows of
    them all (not a batch of each), and only the stored batch at hand of each run is read."""
    import seized.scanning
    import seized.worker

    monkeypatch.setattr(seized.worker, "MERGE_TOTAL", 240)
    monkeypatch.setattr(seized.worker, "MERGE_FLOOR", 2)
    monkeypatch.setattr(seized.scanning, "MIN_RUN_BATCH", 3)
    monkeypatch.setattr(seized.scanning, "RUN_BATCH_BYTES", 1_000)
    held = Rows()
    _fill_small(held)
    want = _to_arrow(held)["emails"]
    rows = Rows(spill_dir=tmp_path, spill_rows=10)
    _fill_small(rows)
    runs = rows.runs("emails")
    assert len(runs) > 50
    stored = [b.num_rows for r in runs if not isinstance(r, pa.Table) for b in read_batches(r)]
    assert max(stored) < 10  # batches of about RUN_BATCH_BYTES, not of MERGE_BATCH rows
    out = list(seized.worker._group_rows("emails", runs))
    assert max(t.num_rows for t in out) <= max(240, 2 * len(runs))
    assert pa.concat_tables(out).combine_chunks().equals(want.combine_chunks())


def test_spilled_runs_are_read_not_memory_mapped(tmp_path, monkeypatch):
    """A mapped run's touched pages stay resident until its map closes: the merge must not map."""
    rows = Rows(spill_dir=tmp_path, spill_rows=100)
    _fill(rows, Judging(JUDGEMENTS))

    def refuse(*args, **kwargs):
        raise AssertionError("a spilled run was memory-mapped")

    monkeypatch.setattr(pa, "memory_map", refuse)
    _write_runs(tmp_path / "emails.arrow", "emails", rows)


def _batches(path):
    with pa.OSFile(str(path)) as src:
        reader = pa.ipc.open_file(src)
        return [reader.get_batch(i) for i in range(reader.num_record_batches)]


def test_unit_file_is_laid_out_as_without_spilling_by_bytes(tmp_path, monkeypatch):
    """The conductor's Parquet pages follow the record batches of the unit files, so a unit's
    file must not depend on spills for bytes: the same batches, row for row, whatever SPILL_BYTES."""
    import seized.scanning
    import seized.worker

    for module in (seized.scanning, seized.worker):
        monkeypatch.setattr(module, "MERGE_BATCH", 7)
    monkeypatch.setattr(seized.worker, "UNIT_BATCH", 40)
    for fill in (_fill, _fill_small):
        for spill_rows in (10**6, 100, 333):
            layouts = []
            for spill_bytes in (10**9, 4_000, 30_000):
                folder = tmp_path / f"{fill.__name__}-{spill_rows}-{spill_bytes}"
                folder.mkdir()
                rows = Rows(spill_dir=folder, spill_rows=spill_rows, spill_bytes=spill_bytes)
                fill(rows) if fill is _fill_small else fill(rows, Judging(JUDGEMENTS))
                _write_runs(folder / "emails.arrow", "emails", rows)
                layouts.append(_batches(folder / "emails.arrow"))
            want = layouts[0]
            for got in layouts[1:]:
                assert [b.num_rows for b in got] == [b.num_rows for b in want], (fill.__name__, spill_rows)
                assert all(g.equals(w) for g, w in zip(got, want)), (fill.__name__, spill_rows)
