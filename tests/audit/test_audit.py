"""The audit trail: an intact run verifies; each kind of tampering is detected and named (exit code 6);
retention lists and purges expired outputs, and the purge is logged; nothing identifying is logged."""

from __future__ import annotations

import datetime as dt
import json
import re

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from nonrecours.audit import AuditLog, expired, open_log, purge, read_manifest, verify_run
from nonrecours.cli import app
from nonrecours.errors import AuditError
from nonrecours.privacy import AuditKey, Secret


def _lines(folder):
    return (folder / "audit" / "log.jsonl").read_text().splitlines(keepends=True)


def _write(folder, lines):
    (folder / "audit" / "log.jsonl").write_text("".join(lines))


def test_intact_run_verifies(demo_run):
    counts = verify_run(demo_run)
    assert counts["entries"] == 9 and counts["outputs"] == len(read_manifest(demo_run)["outputs"]) > 20
    kinds = [e["kind"] for e in open_log(demo_run).entries()]
    # the six agencies and the DRM, the ablation (their data read again, without each), then the run
    assert kinds == ["exchange"] * 7 + ["ablation", "run"]
    res = CliRunner().invoke(app, ["audit", "verify", str(demo_run)])
    assert res.exit_code == 0 and "9 log entries chained" in res.output


def _edit(lines):
    entry = json.loads(lines[2])
    entry["data"]["rows_read"] += 1
    lines[2] = json.dumps(entry, sort_keys=True) + "\n"
    return lines


@pytest.mark.parametrize(("tamper", "message"), [
    (_edit, "audit entry 3: MAC mismatch"),
    (lambda lines: lines[:2] + lines[3:], "audit entry 3: sequence number 4 where 3 expected"),
    (lambda lines: [lines[0], lines[2], lines[1], *lines[3:]], "audit entry 2: sequence number 3 where 2"),
    (lambda lines: lines[:-1], "entries 9 to 9 were removed"),
    (lambda lines: lines[:-2], "entries 8 to 9 were removed"),
    (lambda lines: [*lines[:3], "{not json\n", *lines[3:]], "audit entry 4: not a JSON entry"),
])
def test_each_tampering_of_the_log_is_named(run_copy, tamper, message):
    _write(run_copy, tamper(_lines(run_copy)))
    with pytest.raises(AuditError, match=message):
        verify_run(run_copy)
    res = CliRunner().invoke(app, ["audit", "verify", str(run_copy)])
    assert res.exit_code == 6 and message.split(":")[0] in res.output


def test_renumbered_and_relinked_entries_still_fail(run_copy):
    """Removing an entry and fixing seq and prev by hand cannot forge the MACs without the key."""
    entries = [json.loads(line) for line in _lines(run_copy)]
    del entries[2]
    for i, e in enumerate(entries, start=1):
        e["seq"] = i
        if i > 1:
            e["prev"] = entries[i - 2]["mac"]
    _write(run_copy, [json.dumps(e, sort_keys=True) + "\n" for e in entries])
    with pytest.raises(AuditError, match="audit entry 3: MAC mismatch"):
        verify_run(run_copy)


def test_head_output_and_manifest_tampering(run_copy):
    head = json.loads((run_copy / "audit" / "head.json").read_text())
    (run_copy / "audit" / "head.json").write_text(json.dumps({**head, "entries": 6}))
    with pytest.raises(AuditError, match="audit head: MAC mismatch"):
        verify_run(run_copy)
    (run_copy / "audit" / "head.json").write_text(json.dumps(head))
    verify_run(run_copy)

    target = run_copy / "rules" / "entitlements-2026-06.parquet"
    frame = pl.read_parquet(target)
    frame.with_columns(pl.col("rsa") + 1).write_parquet(target)
    with pytest.raises(AuditError, match=r"output rules/entitlements-2026-06\.parquet: its content differs"):
        verify_run(run_copy)
    target.unlink()
    with pytest.raises(AuditError, match=r"output rules/entitlements-2026-06\.parquet: listed in the manifest, miss"):
        verify_run(run_copy)

    manifest = run_copy / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"retention_days": 180', '"retention_days": 3650'))
    with pytest.raises(AuditError, match=r"manifest\.json: differs from the one recorded by the last run"):
        verify_run(run_copy)


def test_a_file_added_beside_the_outputs_is_named(run_copy):
    """An outreach list slipped into the run's month folder is not one of its outputs; a file added to the
    workspace (ingest adds extract by extract) or elsewhere in the folder is not the run's concern."""
    month = run_copy / "outputs" / "2026-06"
    listed = sorted(p.name for p in month.iterdir() if p.suffix == ".csv")
    (month / f"extra-{listed[0]}").write_text("person;amount\n")
    with pytest.raises(AuditError, match=rf"outputs/2026-06/extra-{re.escape(listed[0])}: in a folder of the run"):
        verify_run(run_copy)
    res = CliRunner().invoke(app, ["audit", "verify", str(run_copy)])
    assert res.exit_code == 6 and "not in its manifest" in res.output
    (month / f"extra-{listed[0]}").unlink()
    (run_copy / "detection" / "2026-06" / "ablation" / "notes.txt").write_text("x")
    with pytest.raises(AuditError, match=r"detection/2026-06/ablation/notes\.txt"):
        verify_run(run_copy)
    (run_copy / "detection" / "2026-06" / "ablation" / "notes.txt").unlink()
    (run_copy / "workspace" / "persons" / "later.txt").write_text("x")
    (run_copy / "notes.txt").write_text("x")
    verify_run(run_copy)


def test_another_key_cannot_verify_or_extend(run_copy, tmp_path):
    from nonrecours.privacy import write_secret_file

    other = write_secret_file(tmp_path / "other.key")
    from nonrecours.privacy import KeySource

    with pytest.raises(AuditError, match="audit entry 1: MAC mismatch"):
        verify_run(run_copy, KeySource(file=other))
    log = open_log(run_copy, KeySource(file=other))
    with pytest.raises(AuditError):
        log.append("run", {"note": "forged"})
    assert len(_lines(run_copy)) == 9


def test_nothing_identifying_enters_the_log(demo_run, tmp_path):
    text = (demo_run / "audit" / "log.jsonl").read_text() + (demo_run / "manifest.json").read_text()
    ids = pl.scan_parquet(sorted((demo_run / "workspace" / "persons").glob("*.parquet"))).select(
        "person_id").collect()["person_id"].to_list()
    assert ids and not any(i in text for i in ids)
    for name in ("exchange.key", "audit.key"):
        assert (demo_run / "keys" / name).read_text().strip() not in text
    log = AuditLog(tmp_path, AuditKey(Secret(b"0123456789abcdefghijklmnopqrstuvwxyzABCDEF")))
    with pytest.raises(AuditError, match=r"data\.rows\.person_id: identifiers and keys never enter"):
        log.append("exchange", {"rows": {"person_id": "x"}})
    assert not (tmp_path / "audit" / "log.jsonl").exists()


def test_the_manifest_counts_exclusions_and_names_every_key_id(demo_run):
    """Beside the quarantine counts, the exclusions of each month (as detection counted them; None when a
    reason could not be checked); beside the pseudonym and audit key ids, the ids of the agencies' return-token
    keys, the same the log's exchange entries name. Ids only: no key file's secret is in the manifest."""
    manifest = read_manifest(demo_run)
    summary = json.loads((demo_run / "detection" / "2026-06" / "summary.json").read_text())
    assert manifest["exclusions"] == {"2026-06": summary["exclusions"]}
    assert any(e["count"] for e in summary["exclusions"].values())
    logged = {e["data"]["agency"]: [e["data"]["return_key_id"]] for e in open_log(demo_run).entries()
              if e["kind"] == "exchange" and e["data"]["return_key_id"]}
    ids = manifest["keys"]["return_key_ids"]
    assert ids == logged and {"caf", "cnam", "cnav", "msa"} <= set(ids)
    assert all(re.fullmatch(r"k[0-9a-f]{15}", i) for v in ids.values() for i in v)
    text = (demo_run / "manifest.json").read_text()
    for key in (demo_run / "keys").glob("*.key"):
        assert key.read_text().strip() not in text


def test_a_crash_between_entry_and_head_is_not_tampering(tmp_path):
    key = AuditKey(Secret(b"0123456789abcdefghijklmnopqrstuvwxyzABCDEF"))
    log = AuditLog(tmp_path, key)
    log.append("run", {"n": 1})
    head = (tmp_path / "audit" / "head.json").read_bytes()
    log.append("run", {"n": 2})
    (tmp_path / "audit" / "head.json").write_bytes(head)  # as if killed before the head was rewritten
    with open(tmp_path / "audit" / "log.jsonl", "a") as fh:
        fh.write('{"data": {"n": 3}, "kin')  # and a torn third write
    assert len(log.verify()) == 2
    log.append("run", {"n": 3})
    assert [e["data"]["n"] for e in log.verify()] == [1, 2, 3]


def test_retention_lists_and_purges_expired_outputs(run_copy):
    """The retention period starts at the extract date, whatever day the run was made (it counted from the last run,
    and a rerun started the clock again: found probing the monthly operations from the docs alone, 5 December
    2026): the demo's extracts are of 28 June 2026, its run of today."""
    manifest = read_manifest(run_copy)
    days = manifest["agreement"]["retention_days"]
    dates = {q["extract_date"] for q in manifest["quarantine"].values()}
    assert dates == {"2026-06-28"}
    start = dt.datetime(2026, 6, 28, tzinfo=dt.UTC)
    ran = dt.datetime.fromisoformat(open_log(run_copy).entries()[-1]["time"])
    assert ran - start > dt.timedelta(days=30)  # made months after the extracts
    assert expired(run_copy, as_of=start + dt.timedelta(days=days - 1)) == []
    late = start + dt.timedelta(days=days + 1)
    assert late < ran + dt.timedelta(days=days)  # expired although the run is younger than the period
    items = expired(run_copy, as_of=late)
    assert {i.path for i in items} == {o["path"] for o in manifest["outputs"]}
    assert {i.written for i in items} == {start}
    res = CliRunner().invoke(app, ["audit", "expired", str(run_copy), "--as-of", f"{late:%Y-%m-%d}"])
    assert res.exit_code == 0 and f"{len(items)} output(s) past their retention period" in res.output
    res = CliRunner().invoke(app, ["audit", "expired", str(run_copy), "--purge", "--as-of", f"{late:%Y-%m-%d}"])
    assert res.exit_code == 0, res.output
    assert not (run_copy / "rules" / "entitlements-2026-06.parquet").exists()
    last = open_log(run_copy).entries()[-1]
    assert last["kind"] == "purge" and last["data"]["files"] == len(items)
    assert verify_run(run_copy)["purged"] == len(items)  # purged files are expected gone
    assert expired(run_copy, as_of=late) == [] and purge(run_copy, as_of=late) == []


def _chained(tmp_path, n):
    log = AuditLog(tmp_path, AuditKey(Secret(b"0123456789abcdefghijklmnopqrstuvwxyzABCDEF")))
    for i in range(n):
        log.append("exchange", {"agency": "caf", "file": f"f{i}.csv", "rows_read": i})
    return log


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(2, 6), data=st.data())
def test_any_change_to_the_entries_is_detected(tmp_path_factory, n, data):
    """Whatever is edited, removed, swapped or cut, verify fails (or the log is exactly the original)."""
    log = _chained(tmp_path_factory.mktemp("log"), n)
    original = log.path.read_text().splitlines(keepends=True)
    op = data.draw(st.sampled_from(["edit", "remove", "swap", "truncate", "duplicate"]))
    lines = list(original)
    i = data.draw(st.integers(0, n - 1))
    if op == "edit":
        entry = json.loads(lines[i])
        field = data.draw(st.sampled_from(["rows_read", "file", "time", "kind", "seq"]))
        if field in ("rows_read", "file"):
            entry["data"][field] = data.draw(st.one_of(st.integers(), st.text(max_size=5)))
        else:
            entry[field] = data.draw(st.one_of(st.integers(), st.text(max_size=5)))
        lines[i] = json.dumps(entry, sort_keys=True) + "\n"
    elif op == "remove":
        del lines[i]
    elif op == "swap":
        j = data.draw(st.integers(0, n - 1))
        lines[i], lines[j] = lines[j], lines[i]
    elif op == "truncate":
        lines = lines[:i]
    else:
        lines.insert(i, lines[i])
    log.path.write_text("".join(lines))
    if [json.loads(line) for line in lines] == [json.loads(line) for line in original]:
        assert len(log.verify()) == n
    else:
        with pytest.raises(AuditError):
            log.verify()
