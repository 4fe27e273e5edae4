"""A hand-edited run.toml: each kind of mistake gives a ConfigError naming its key, its place and the
allowed values; a correct file loads with paths resolved and environment overrides applied."""

from __future__ import annotations

import datetime as dt
from importlib import resources

import pytest

from nonrecours.config import load_config, locate
from nonrecours.errors import ConfigError
from nonrecours.privacy import write_secret_file

GOOD = """\
first_month = "2026-04"
last_month = "2026-06"
benefits = ["rsa", "aspa"]
backend = "duckdb"
memory_limit = "1GB"
output = "run"
exchange = "exchange.toml"
audit_key = { file = "keys/audit.key" }

[thresholds]
under_payment = 0.1
suppression = 11

[thresholds.exclusion_months]
rsa = 4

[lead_agency]
aspa = "cnav"

[agencies.caf]
files = ["extracts/caf.dat"]

[agencies.cnav]
files = ["extracts/cnav.csv"]
extract_date = 2026-06-30

[ablation]
enabled = true
backend = "polars"
"""


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "exchange.toml").write_text(
        resources.files("nonrecours.connectors").joinpath("exchange.toml").read_text())
    (tmp_path / "keys").mkdir()
    write_secret_file(tmp_path / "keys" / "audit.key")
    (tmp_path / "extracts").mkdir()
    for name in ("caf.dat", "cnav.csv"):
        (tmp_path / "extracts" / name).write_text("x\n")
    return tmp_path


def _write(folder, text):
    path = folder / "run.toml"
    path.write_text(text)
    return path


def test_two_names_of_one_extract_id_are_refused(folder):
    """« caf juin.dat » and « caf_juin.dat » are two files but one extract id (a space is written '_'): the second
    would replace the first's canonical files, its rows gone while the manifest counted them accepted (found
    probing extracts written from the docs alone, 5 December 2026)."""
    for name in ("caf juin.dat", "caf_juin.dat"):
        (folder / "extracts" / name).write_text("x\n")
    text = GOOD.replace('files = ["extracts/caf.dat"]', 'files = ["extracts/caf juin.dat", "extracts/caf_juin.dat"]')
    with pytest.raises(ConfigError, match=r"files 0 and 1 give the same extract id caf_juin"):
        load_config(_write(folder, text))


def test_good_file_loads(folder):
    cfg = load_config(_write(folder, GOOD))
    assert cfg.months == [dt.date(2026, 4, 1), dt.date(2026, 5, 1), dt.date(2026, 6, 1)]
    assert cfg.agencies["caf"].files == [folder / "extracts" / "caf.dat"]
    assert cfg.output == folder / "run" and cfg.audit_key.file == folder / "keys" / "audit.key"
    assert cfg.thresholds.exclusion_months == {"rsa": 4} and cfg.lead_agency == {"aspa": "cnav"}
    assert cfg.agencies["cnav"].extract_date == dt.date(2026, 6, 30)
    assert cfg.ablation.enabled and cfg.ablation.backend == "polars" and cfg.ablation.truth is None
    assert len(cfg.digest()) == 64 and cfg.digest() == load_config(folder / "run.toml").digest()


def test_partitions_do_not_change_the_digest(folder):
    """The outputs of a partitioned run are those of a run in one pass (tests/core/test_partition.py): the same
    run folder takes either."""
    one = load_config(_write(folder, GOOD))
    four = load_config(_write(folder, GOOD.replace('memory_limit = "1GB"', 'memory_limit = "1GB"\npartitions = 4')))
    assert one.partitions == 1 and four.partitions == 4 and one.digest() == four.digest()


def test_the_memory_limit_and_the_spill_folder_do_not_change_the_digest(folder, monkeypatch):
    """A machine's settings (run.md): a run stopped by a DuckDB memory limit too low (exit 5) is rerun in its folder
    with a higher one, or elsewhere with another spill folder; the outputs are the same (an outside tester, 6
    December 2026: « holds the outputs of another run »)."""
    one = load_config(_write(folder, GOOD))
    monkeypatch.setenv("NONRECOURS_RUN_MEMORY_LIMIT", "8GB")
    monkeypatch.setenv("NONRECOURS_RUN_SPILL_DIR", str(folder / "spill"))
    other = load_config(_write(folder, GOOD))
    assert other.memory_limit != one.memory_limit and other.spill_dir != one.spill_dir
    assert one.digest() == other.digest()
    monkeypatch.setenv("NONRECOURS_RUN_BACKEND", "polars")  # the summary says which: another run
    assert load_config(_write(folder, GOOD)).digest() != one.digest()


def test_environment_overrides_the_file(folder, monkeypatch):
    monkeypatch.setenv("NONRECOURS_RUN_BACKEND", "polars")
    assert load_config(_write(folder, GOOD)).backend == "polars"
    monkeypatch.setenv("NONRECOURS_RUN_BACKEND", "spork")
    with pytest.raises(ConfigError, match=r"environment variable NONRECOURS_RUN_BACKEND: key backend: .*'polars'"):
        load_config(folder / "run.toml")


def test_a_secret_in_an_environment_override_is_a_clear_error_that_never_shows_it(folder, monkeypatch):
    """``NONRECOURS_RUN_AUDIT_KEY=<the secret>`` (a table takes JSON: a key source, never the secret) ended in an
    « unexpected SettingsError », exit 1: now a configuration error, exit 2, the value never quoted."""
    import secrets

    value = secrets.token_urlsafe(40)
    monkeypatch.setenv("NONRECOURS_RUN_AUDIT_KEY", value)
    with pytest.raises(ConfigError) as exc:
        load_config(_write(folder, GOOD))
    assert "NONRECOURS_RUN" in str(exc.value) and "not shown" in str(exc.value) and value not in str(exc.value)


@pytest.mark.parametrize(("old", "new", "expected"), [
    ('backend = "duckdb"', 'bakend = "duckdb"',
     r"run.toml, line 4, column 1: unknown key bakend; allowed keys: .*backend"),
    ('suppression = 11', 'supression = 11', r"line 12, column 1: unknown key thresholds.supression; allowed keys: "
                                            r"exclusion_months, suppression, under_payment"),
    ('memory_limit = "1GB"', 'memory_limit = 1024', r"line 5, column 16: key memory_limit: .*string"),
    ('memory_limit = "1GB"', 'memory_limit = "0MB"', r"line 5, column 16: key memory_limit: a size above 0"),
    ('under_payment = 0.1', 'under_payment = "ten"', r"line 11, column 17: key thresholds.under_payment: .*number"),
    ('last_month = "2026-06"', 'last_month = "2026-13"', r"line 2, column 14: key last_month: month number"),
    ('first_month = "2026-04"', 'first_month = "April 2026"', r"line 1, column 15: key first_month: .*YYYY-MM"),
    ('files = ["extracts/caf.dat"]', 'files = ["extracts/caf.txt"]',
     r"line 21, column 9: key agencies.caf.files.0: file not found: .*caf.txt"),
    ('audit_key = { file = "keys/audit.key" }', 'audit_key = { file = "keys/missing.key" }',
     r"line 8, column 22: key audit_key.file: not found: key file .*missing\.key"),
    ('audit_key = { file = "keys/audit.key" }', 'audit_key = { file = "SUPERSECRETKEYMATERIAL0123456789abcdefXYZ" }',
     r"line 8, column 22: key audit_key.file: not found: a key file whose name reads as a secret .*, not shown \("),
    ('suppression = 11', 'suppression = 2', r"line 12, column 15: key thresholds.suppression: .*greater than or "
                                            r"equal to 3"),
    ('backend = "duckdb"', 'backend = "sparks"',
     r"line 4, column 11: key backend: Input should be 'polars', 'duckdb' or 'spark'"),
    ('[agencies.caf]', '[agencies.kaf]', r"line 20, column 1: agencies.kaf: Input should be 'caf', 'cnam', "
                                         r"'france_travail', 'dgfip', 'cnav', 'msa' or 'drm'"),
    ('benefits = ["rsa", "aspa"]', 'benefits = ["rsa", "ass"]', r"line 3, column 12: key benefits.1: .*'css'"),
    ('aspa = "cnav"', 'aspa = "carsat"', r"line 18, column 8: key lead_agency.aspa: .*'cnav'"),
    ('aspa = "cnav"', 'aspa = "msa"', r"key lead_agency.aspa: agency msa sends no extract"),
    ('rsa = 4', 'rsa = 400', r"line 15, column 7: key thresholds.exclusion_months.rsa: .*less than or equal to 60"),
    ('last_month = "2026-06"', 'last_month = "2026-01"',
     r"line 2, column 14: key last_month: .*2026-01 is before first_month 2026-04"),
    ('output = "run"\n', '', r"key output is required"),
    ('exchange = "exchange.toml"', 'exchange = "echange.toml"', r"line 7, column 12: key exchange: file not found"),
    ('files = ["extracts/caf.dat"]', 'files = ["extracts/caf.dat", "extracts/../extracts/caf.dat"]',
     r"line 21, column 9: key agencies.caf.files.1: files 0 and 1 give the same extract id caf"),
    ('enabled = true', 'enabeld = true', r"line 28, column 1: unknown key ablation.enabeld; allowed keys: "
                                         r"backend, enabled, truth"),
    ('enabled = true', 'enabled = "oui"', r"line 28, column 11: key ablation.enabled: .*valid boolean"),
    ('backend = "polars"', 'backend = "pandas"', r"line 29, column 11: key ablation.backend: .*'polars' or "
                                                      r"'duckdb'"),
    ('memory_limit = "1GB"', 'memory_limit = "1GB"\npartitions = 0',
     r"line 6, column 14: key partitions: .*greater than or equal to 1"),
    ('enabled = true', 'enabled = true\ntruth = "truth"',
     r"line 29, column 9: key ablation.truth: not a synthetic truth folder"),
])
def test_each_mistake_names_its_key(folder, old, new, expected):
    assert old in GOOD
    with pytest.raises(ConfigError, match=expected):
        load_config(_write(folder, GOOD.replace(old, new, 1)))


def test_spark_backend_is_accepted_when_spark_can_run(folder):
    """pyspark is a dev dependency and Java is installed where the tests run (.ci/run): never skipped."""
    assert load_config(_write(folder, GOOD.replace('backend = "duckdb"', 'backend = "spark"'))).backend == "spark"


@pytest.mark.parametrize(("missing", "expected"), [
    ("pyspark", r"line 4, column 11: key backend: spark: PySpark is not installed; install the optional extra: "
                r"pip install 'nonrecours\[spark\]'"),
    ("java", r"line 4, column 11: key backend: spark: no Java runtime found.*default-jre-headless"),
])
def test_spark_backend_without_pyspark_or_java_names_the_remedy(folder, monkeypatch, missing, expected):
    import sys

    if missing == "pyspark":
        monkeypatch.setitem(sys.modules, "pyspark", None)  # import fails as if not installed
    else:
        monkeypatch.delenv("JAVA_HOME", raising=False)
        monkeypatch.setenv("PATH", "/nonexistent")
    text = GOOD.replace('backend = "duckdb"', 'backend = "spark"')
    with pytest.raises(ConfigError, match=expected):
        load_config(_write(folder, text))
    assert load_config(folder / "run.toml", check_files=False).backend == "spark"  # the file itself is valid


def test_agency_not_in_agreement(folder):
    text = GOOD.replace('exchange = "exchange.toml"', 'exchange = "small.toml"')
    agreement = (folder / "exchange.toml").read_text()
    (folder / "small.toml").write_text(agreement.split("[agencies.cnav]")[0])
    with pytest.raises(ConfigError, match=r"line 23, column 1: key agencies.cnav: .*not a party.*parties: caf"):
        load_config(_write(folder, text))


def test_syntax_error_names_line(folder):
    with pytest.raises(ConfigError, match=r"not valid TOML.*line 4"):
        load_config(_write(folder, GOOD.replace('backend = "duckdb"', "backend = duckdb")))


def test_locate_inline_and_dotted_keys():
    text = 'a = 1\nkey = { file = "x", env = "Y" }\n[t]\nsub.deep = 3\n'
    assert locate(text, ("key", "env")) == (2, 27)
    assert locate(text, ("t", "sub", "deep")) == (4, 12)
    assert locate(text, ("nothing",)) is None


def test_every_mistake_is_named_a_misspelt_key_first(folder):
    """A misspelt required key is one typo: the message names the unknown key (with its line) before the
    missing one, and every other mistake of the file too, one per line."""
    text = GOOD.replace('output = "run"', 'outptu = "run"').replace('backend = "duckdb"', 'backend = "duck"')
    with pytest.raises(ConfigError) as caught:
        load_config(_write(folder, text))
    lines = str(caught.value).splitlines()
    assert lines[0].startswith("run.toml, line 6, column 1: unknown key outptu; allowed keys: ")
    assert "run.toml, line 4, column 11: key backend: Input should be 'polars', 'duckdb' or 'spark'" in lines
    assert "run.toml: key output is required" in lines and len(lines) == 3


def test_the_command_line_prints_one_error_line_per_mistake(folder):
    from typer.testing import CliRunner

    from nonrecours.cli import app

    text = GOOD.replace('output = "run"', 'outptu = "run"').replace('backend = "duckdb"', 'backend = "duck"')
    res = CliRunner().invoke(app, ["validate", str(_write(folder, text))])
    assert res.exit_code == 2, res.output
    errors = [line for line in res.output.splitlines() if line.startswith("nonrecours: error: run.toml")]
    assert len(errors) == 3 and "unknown key outptu" in errors[0], res.output


def test_detection_options_reach_detection(folder):
    """``[detection]`` turns the decisive-unknowns analysis off and chooses the payments that contradict our view
    of a famille (run.toml names, the CSS asking for both its codes); defaults are detection's own; a benefit
    the catalogue does not know is named."""

    from nonrecours.detection import DetectionConfig
    from nonrecours.run import detection_config

    default = detection_config(load_config(_write(folder, GOOD)))
    assert default.decisive_unknowns is True
    assert default.contradicting_payments == DetectionConfig().contradicting_payments == ("rsa", "ppa")
    text = GOOD + '\n[detection]\ndecisive_unknowns = false\ncontradicting_payments = ["ppa", "css"]\n'
    config = detection_config(load_config(_write(folder, text)))
    assert config.decisive_unknowns is False
    assert config.contradicting_payments == ("ppa", "css_free", "css_participation")
    with pytest.raises(ConfigError, match=r"detection\.contradicting_payments"):
        load_config(_write(folder, GOOD + '\n[detection]\ncontradicting_payments = ["rmi"]\n'))
