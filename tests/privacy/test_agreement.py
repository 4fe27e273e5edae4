"""Exchange agreement: loading, minimisation, refusal of unlisted columns, key sources."""

from __future__ import annotations

import secrets
from pathlib import Path

import polars as pl
import pytest

from nonrecours.errors import ConfigError, KeyMaterialError, PrivacyError
from nonrecours.privacy import ALWAYS_ALLOWED, load_agreement, write_secret_file

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "exchange.toml"

MINIMAL = """
exchange_id = "ex-1"
purpose = "outreach"
retention_days = 90
secret = {{ file = "exchange.key" }}

[agencies.caf]
return_token_key = {{ file = "caf.key" }}
[agencies.caf.tables]
persons = ["person_id", "birth_month", "sex"]
{extra}
"""


def write(tmp_path: Path, extra: str = "") -> Path:
    p = tmp_path / "exchange.toml"
    p.write_text(MINIMAL.format(extra=extra))
    return p


def test_example_file_loads_and_lists_every_agency() -> None:
    ag = load_agreement(EXAMPLE)
    assert set(ag.agencies) == {"caf", "cnam", "france_travail", "dgfip", "cnav", "msa"}
    assert ag.secret.env == "NONRECOURS_EXCHANGE_SECRET"
    assert "person_id" in ag.allowed_columns("caf", "persons")


def test_check_export_names_agency_table_and_column(tmp_path: Path) -> None:
    ag = load_agreement(write(tmp_path))
    ag.check_export("caf", "persons", ["person_id", "sex", *ALWAYS_ALLOWED])
    with pytest.raises(PrivacyError, match="agency caf, table persons: column depcom is not listed"):
        ag.check_export("caf", "persons", ["person_id", "depcom"])
    with pytest.raises(PrivacyError, match="agency caf may export nothing in table resources"):
        ag.check_export("caf", "resources", ["person_id"])
    # a table the agreement does not list: the line that would list what the mapping exports there
    with pytest.raises(PrivacyError,
                       match=r'add `listings = \["person_id", "month"\]` under \[agencies\.caf\.tables\]'):
        ag.check_export("caf", "listings", ["person_id", "month", *sorted(ALWAYS_ALLOWED)])
    with pytest.raises(PrivacyError, match="agency cnam is not a party"):
        ag.check_export("cnam", "persons", ["person_id"])


def test_minimise_drops_everything_unlisted(tmp_path: Path) -> None:
    ag = load_agreement(write(tmp_path))
    df = pl.DataFrame({"person_id": ["a"], "nom": ["x"], "sex": ["F"], "depcom": ["44109"],
                       "source_agency": ["caf"]})
    assert ag.minimise(df, "caf", "persons").columns == ["person_id", "sex", "source_agency"]
    assert ag.minimise(df.lazy(), "caf", "persons").collect().columns == ["person_id", "sex", "source_agency"]


def test_keys_come_from_relative_files(tmp_path: Path) -> None:
    write_secret_file(tmp_path / "exchange.key")
    write_secret_file(tmp_path / "caf.key")
    ag = load_agreement(write(tmp_path))
    key, rkey = ag.pseudonym_key(), ag.return_key("caf")
    assert key.exchange == "ex-1" and key.purpose == "outreach" and rkey.agency == "caf"
    assert key.key_id != rkey.key_id


def test_missing_key_file_is_a_key_error_naming_the_file(tmp_path: Path) -> None:
    ag = load_agreement(write(tmp_path))
    with pytest.raises(KeyMaterialError, match=r"key file .*exchange\.key: cannot be read"):
        ag.pseudonym_key()


@pytest.mark.parametrize(("extra", "match"), [
    ("opt_outs = ['person_id', 'nir']", "column nir is not in the canonical schema"),
    ("unknown_table = ['x']", "unknown canonical table"),
    ("[agencies.interpol]\n", "unknown agency"),
])
def test_bad_agreements_name_the_field(tmp_path: Path, extra: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        load_agreement(write(tmp_path, extra))


def test_a_literal_secret_is_refused(tmp_path: Path) -> None:
    value = secrets.token_urlsafe(40)
    p = tmp_path / "e.toml"
    text = MINIMAL.format(extra="").replace('secret = { file = "exchange.key" }', f'secret = "{value}"')
    p.write_text(text)
    with pytest.raises(ConfigError) as exc:
        load_agreement(p)
    assert value not in str(exc.value) and "field secret" in str(exc.value)


def test_return_key_must_not_be_the_exchange_secret(tmp_path: Path) -> None:
    p = tmp_path / "e.toml"
    p.write_text(MINIMAL.format(extra="").replace('{ file = "caf.key" }', '{ file = "exchange.key" }'))
    with pytest.raises(ConfigError, match="must differ from the exchange secret"):
        load_agreement(p)


def test_two_roles_holding_one_secret_are_refused_whatever_the_files(tmp_path: Path) -> None:
    """The agreement compares sources: the exchange secret copied into « caf.key », or one agency's key file named
    for another, passed it, and every agency holding the exchange secret opened the CAF's tokens (found probing the
    outputs from the docs alone, 5 December 2026). ``check_distinct_secrets`` compares the values (never shown)."""
    import shutil

    from nonrecours.privacy import KeySource

    write_secret_file(tmp_path / "exchange.key")
    write_secret_file(tmp_path / "caf.key")
    write_secret_file(tmp_path / "audit.key")
    ag = load_agreement(write(tmp_path))
    ag.check_distinct_secrets(["caf"], {"the run's audit_key": KeySource(file=tmp_path / "audit.key")})
    shutil.copy(tmp_path / "exchange.key", tmp_path / "caf.key")
    value = (tmp_path / "exchange.key").read_text().strip()
    with pytest.raises(KeyMaterialError, match="agency caf's return_token_key holds the same secret as the exchange "
                                               "secret") as exc:
        ag.check_distinct_secrets(["caf"])
    assert value not in str(exc.value)
    write_secret_file(tmp_path / "caf2.key")
    shutil.copy(tmp_path / "caf2.key", tmp_path / "caf.key")
    with pytest.raises(KeyMaterialError, match="the run's audit_key holds the same secret as agency caf's"):
        ag.check_distinct_secrets(["caf"], {"the run's audit_key": KeySource(file=tmp_path / "caf2.key")})
    (tmp_path / "caf.key").unlink()
    with pytest.raises(KeyMaterialError, match=r"caf\.key: cannot be read"):  # a key it needs, read before any ingest
        ag.check_distinct_secrets(["caf"])


def test_unreadable_toml(tmp_path: Path) -> None:
    p = tmp_path / "e.toml"
    p.write_text("exchange_id = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_agreement(p)


def test_retention_deadline(tmp_path: Path) -> None:
    import datetime as dt

    ag = load_agreement(write(tmp_path))
    assert ag.retention_until(dt.date(2026, 11, 1)) == dt.date(2027, 1, 30)
