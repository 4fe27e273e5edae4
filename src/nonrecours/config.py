"""The run configuration: one TOML file (``run.toml``) says what a batch run reads, computes and writes.

Validated by pydantic; a few operational settings can be overridden from the environment
(``NONRECOURS_RUN_BACKEND``, ``NONRECOURS_RUN_MEMORY_LIMIT``, ``NONRECOURS_RUN_SPILL_DIR``...: the
prefix ``NONRECOURS_RUN_`` then the key in capitals), because a data team moves a run between machines
without editing the file. Every error is a :class:`ConfigError` naming the key, its line and column in the
file and the allowed values, so a person who hand-edited the file can fix it at once.

Relative paths are resolved against the configuration file's folder. Keys are *pointed to* (a file path or
an environment variable name), never written in the file. Example (``nonrecours demo`` writes one)::

    first_month = "2026-06"            # evaluated month (YYYY-MM); last_month for a range
    benefits = ["rsa", "ppa", "aspa", "css"]  # default: every benefit of the catalogue
    backend = "duckdb"                 # polars | duckdb | spark (extra nonrecours[spark] and Java 17+)
    output = "run"                     # the run folder: workspace, results, manifest, audit log
    exchange = "exchange.toml"         # the exchange agreement (keys, purpose, retention)
    audit_key = { file = "keys/audit.key" }

    [agencies.caf]
    files = ["extracts/caf.dat"]
    mapping = "mappings/caf.yaml"      # optional: the agency's default layout otherwise
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, SettingsError

from nonrecours.errors import ConfigError
from nonrecours.privacy.keys import KeySource
from nonrecours.schemas.benefits import ASKED, CATALOGUE
from nonrecours.schemas.codes import AGENCIES

__all__ = ["BENEFITS_ASKED", "AblationConfig", "AgencyInput", "RunConfig", "Thresholds", "load_config"]

AgencyName = Literal[tuple(a for a in AGENCIES if a != "synth")]  # type: ignore[valid-type]
"""Agencies a run reads (the code list of schemas/codes.py, without the synthetic truth's own code)."""
BENEFITS_ASKED: tuple[str, ...] = ASKED
"""The benefits a run can look for non-take-up of (the catalogue's run.toml names, schemas.benefits; ``css``
covers free and participating CSS)."""
BenefitName = Literal[BENEFITS_ASKED]  # type: ignore[valid-type]
_EXCLUSION_MONTHS: dict[str, int] = {b.asked: b.exclusion_months for b in CATALOGUE}
ENV_PREFIX = "NONRECOURS_RUN_"
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_MEMORY = re.compile(r"^(\d+(?:\.\d+)?)\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$")


def parse_month(value: Any) -> dt.date:
    """``YYYY-MM`` (or a TOML date) → first day of that month; ValueError says the expected form."""
    if isinstance(value, dt.date):
        return value.replace(day=1)
    if not isinstance(value, str) or not _MONTH.match(value):
        raise ValueError("a month is written YYYY-MM, e.g. 2026-06")
    year, month = (int(x) for x in value.split("-"))
    if not 1 <= month <= 12:
        raise ValueError("month number must be 01 to 12")
    if not 2000 <= year <= 2100:
        raise ValueError("year must be between 2000 and 2100")
    return dt.date(year, month, 1)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AgencyInput(_Strict):
    """One agency's part of the run: its extract files, optionally its own mapping and extract date."""

    files: list[Path] = Field(min_length=1)
    mapping: Path | None = None
    extract_date: dt.date | None = None
    """Provenance date written on every row (it starts the retention period); by default the extract's own
    (header), else the file's modification date, with a warning and ``extract_date_source = "file"`` in the
    manifest: give it for a layout without a header date whose files are copied."""
    allow_empty: bool = False
    """Accept a file with no record after its header (the agency has nothing to send); by default such a file
    stops the run (exit 7): for an agency with many people it is most likely a failed export."""


SUPPRESSION_MIN = 3
"""The least suppression threshold a run accepts: a cell of one or two units is never published, whatever the
configuration (a count of 1 names a person; of 2, each of the two knows the other)."""


class Thresholds(_Strict):
    """Decision thresholds (detection and statistics read them from the run's manifest)."""

    under_payment: float = Field(0.2, ge=0, lt=1)
    """A paid unit is under-paid when paid < (1 - under_payment) × least favourable estimate."""
    exclusion_months: dict[BenefitName, Annotated[int, Field(ge=0, le=60)]] = Field(
        default_factory=lambda: dict(_EXCLUSION_MONTHS))
    """A claim, refusal or closure within this many months excludes the unit from outreach, per benefit."""
    suppression: int = Field(11, ge=SUPPRESSION_MIN)
    """Statistical cells under this many units are suppressed. At least ``SUPPRESSION_MIN``: 1 or 2 turned the
    secrecy off while the report still said it applied (« les cellules de moins de 1 unités », an outside tester,
    7 December 2026); below the default, the outputs stage warns."""


class DetectionOptions(_Strict):
    """How detection names and grades its flags (``[detection]``); the thresholds are in ``[thresholds]``."""

    decisive_unknowns: bool = True
    """Name, for a flag short of certain, the unknowns that decide it alone (each moved alone on the flagged
    familles' rows); off: every unknown its benefit reads (cheaper on a very large run, longer letters)."""
    contradicting_payments: list[BenefitName] = Field(default_factory=lambda: ["rsa", "ppa"])
    """Benefits whose payment, where our rules deny it whatever the unknowns, caps the famille's other flags at
    ``possible`` (the agency's view of the famille is more complete than ours); ``[]``: never."""


class AblationConfig(_Strict):
    """Answer 1 measured in the run (``[ablation]``): detection rerun without each agency's extract and with
    the CAF's alone, on the run's own workspace (``outputs.ablation``). Off by default: it reruns the core
    and detection once per scenario (eight with the seven agencies)."""

    enabled: bool = False
    backend: Literal["polars", "duckdb"] | None = None
    """Engine of the reruns; default: the run's. At a few thousand persons polars is several times faster
    than DuckDB (measured on the demo: benchmarks/results/outputs.json); DuckDB keeps memory bounded at scale."""
    truth: Path | None = None
    """A synthetic truth folder (``take_up.parquet``, written by ``nonrecours synth``): precision and recall
    against the true non-take-up. Without it (real extracts), each scenario is compared with the run with
    every agency: flags lost and gained, and the monthly amounts they carry."""


class RunConfig(BaseSettings):
    """A batch run: months, agencies and files, agreement, keys, benefits, engine, thresholds, outputs."""

    model_config = SettingsConfigDict(extra="forbid", frozen=True, env_prefix=ENV_PREFIX,
                                      env_nested_delimiter="__")

    first_month: dt.date
    last_month: dt.date | None = None
    benefits: list[BenefitName] = Field(default_factory=lambda: list(BENEFITS_ASKED), min_length=1)
    backend: Literal["polars", "duckdb", "spark"] = "duckdb"
    """Rule engine backend; ``spark`` needs the optional extra ``nonrecours[spark]`` and a Java runtime,
    checked when the file is loaded with its files (:func:`load_config`)."""
    memory_limit: str = "2GB"
    spill_dir: Path | None = None
    partitions: int = Field(1, ge=1, le=10_000)
    """Parts the population is split into for the rules and detection stages (``core.partition``: households
    linked by any unit stay together): each part is built, evaluated and detected on its own and its outputs
    merged, so the peak memory follows a part, not the population. 1 (the default): one pass over everyone.
    The outputs do not depend on it (the same files, row for row), so it is left out of the run's digest."""
    fresh_process_per_part: bool = True
    """With ``partitions`` above 1, the rules and detection stages run each part in a new child process
    (``nonrecours.isolate``), whose memory goes back to the system when the part is done: in one process a part
    cost more the later it ran (at 10 million persons, 1.8 times as much CPU by the 36th part). False: every part
    in the run's own process (a child costs a start of about a second). Left out of the run's digest: the outputs
    do not depend on it."""
    max_quarantined: float = Field(0.10, ge=0, le=1)
    """Largest share of an extract file's rows that may be quarantined: above it the run stops after ingesting
    that file (exit 3, the workspace report says which rows), as ``nonrecours ingest --max-quarantined``. A
    rerun with the same inputs stops or writes the same files, so it is left out of the run's digest."""
    output: Path
    exchange: Path
    audit_key: KeySource
    agencies: dict[AgencyName, AgencyInput] = Field(min_length=1)
    thresholds: Thresholds = Field(default_factory=Thresholds)
    detection: DetectionOptions = Field(default_factory=DetectionOptions)
    lead_agency: dict[BenefitName, AgencyName] = Field(default_factory=dict)
    """Overrides of the agency that contacts people for a benefit (default: the paying agency)."""
    ablation: AblationConfig = Field(default_factory=AblationConfig)
    _digest: str | None = PrivateAttr(None)

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        # the environment wins over the file: the operator's machine knows its memory and disks
        return env_settings, init_settings

    @field_validator("first_month", "last_month", mode="before")
    @classmethod
    def _month(cls, v: Any) -> Any:
        return None if v is None else parse_month(v)

    @field_validator("memory_limit")
    @classmethod
    def _memory(cls, v: str) -> str:
        size = _MEMORY.match(v.strip())
        if not size:
            raise ValueError("a size such as 512MB, 2GB or 1.5GiB (units KB, MB, GB, TB, KiB, MiB, GiB, TiB)")
        if float(size.group(1)) == 0:
            raise ValueError("a size above 0 (DuckDB cannot evaluate anything in no memory), such as 2GB")
        return v.strip()

    @field_validator("last_month")
    @classmethod
    def _range(cls, v: dt.date | None, info: ValidationInfo) -> dt.date | None:
        """On the field, so the error names the key, line and column of ``last_month`` (a model's check named none)."""
        first = info.data.get("first_month")
        if v is not None and first is not None and v < first:
            raise ValueError(f"{v:%Y-%m} is before first_month {first:%Y-%m}")
        return v

    @property
    def months(self) -> list[dt.date]:
        """Every evaluated month, first to last."""
        last = self.last_month or self.first_month
        out, m = [], self.first_month
        while m <= last:
            out.append(m)
            m = dt.date(m.year + m.month // 12, m.month % 12 + 1, 1)
        return out

    def digest(self) -> str:
        """SHA-256 of the configuration's content (paths as written in the file, so a run folder can move
        with its run.toml; environment overrides included): two runs with the same digest on the same
        inputs write the same outputs."""
        if self._digest is not None:
            return self._digest
        # what the outputs do not depend on: how the work is cut and where and how much DuckDB may spill (a run
        # stopped by a memory limit too low was refused its rerun with a higher one in the same folder)
        text = json.dumps(self.model_dump(mode="json", exclude={"partitions", "fresh_process_per_part",
                                                           "max_quarantined", "memory_limit", "spill_dir"}),
                          sort_keys=True,
                          separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


# --- loading with positions ---------------------------------------------------------------------------

_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")


def _key_parts(text: str) -> list[str]:
    return [p.strip().strip('"').strip("'") for p in text.split(".")]


def locate(text: str, loc: tuple[str | int, ...], *, at_key: bool = False) -> tuple[int, int] | None:
    """Line and column (1-based) of the value of the key at ``loc`` in TOML ``text``, or of the table.

    Handles tables (``[a.b]``), dotted keys (``a.b = 1``) and inline tables on one line; list indexes
    point at the key holding the list; ``at_key`` points at the key instead of its value. Good enough for
    a person's hand-edited file.
    """
    keys = [str(k) for k in loc if not isinstance(k, int) and k != "[key]"]
    if not keys:
        return None
    section: list[str] = []
    best: tuple[int, int, int] | None = None  # (matched depth, line, column)
    for n, line in enumerate(text.splitlines(), start=1):
        m = _HEADER.match(line)
        if m:
            section = _key_parts(m.group(1))
            depth = _common(section, keys)
            if depth == len(section) and (best is None or depth > best[0]):
                best = (depth, n, line.index("[") + 1)
            continue
        if "=" not in line or line.lstrip().startswith("#"):
            continue
        lhs, rhs = line.split("=", 1)
        full = section + _key_parts(lhs)
        depth = _common(full, keys)
        if depth == len(full) and (best is None or depth > best[0]):
            col = len(lhs) - len(lhs.lstrip()) + 1 if at_key else len(lhs) + 2 + (len(rhs) - len(rhs.lstrip()))
            best = (depth, n, col)
        if depth == len(full) and depth < len(keys) and "{" in rhs:  # inline table: search inside
            inner = keys[depth]
            hit = re.search(r"[{,]\s*" + re.escape(inner) + r"\s*=\s*", rhs)
            if hit and (best is None or depth + 1 > best[0]):
                best = (depth + 1, n, len(lhs) + 2 + (hit.start() + 1 if at_key else hit.end()))
    return (best[1], best[2]) if best else None


def _common(a: list[str], b: list[str]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _allowed_keys(loc: tuple[str | int, ...]) -> list[str] | None:
    """The keys allowed beside the unknown key at ``loc`` (walking the models' fields)."""
    model: Any = RunConfig
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        fields = getattr(model, "model_fields", None)
        if fields is None:
            return None
        if part in fields:
            ann = fields[part].annotation
            args = getattr(ann, "__args__", ())
            model = next((a for a in (ann, *args) if isinstance(a, type) and issubclass(a, BaseModel)), None)
            if model is None:
                return None
        elif model is RunConfig or not isinstance(model, type):
            return None
    return sorted(model.model_fields) if isinstance(model, type) and issubclass(model, BaseModel) else None


def _describe(err: dict[str, Any], text: str, path: Path) -> str:
    loc = tuple(err["loc"])
    key = ".".join(str(p) for p in loc if p != "[key]")
    kind = err["type"]
    where = locate(text, loc, at_key=kind == "extra_forbidden")
    env_name = ENV_PREFIX + "__".join(str(p).upper() for p in loc if not isinstance(p, int) and p != "[key]")
    if env_name in os.environ:
        place = f"environment variable {env_name}"
    elif where:
        place = f"{path.name}, line {where[0]}, column {where[1]}"
    else:
        place = path.name
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc)
        hint = f"; allowed keys: {', '.join(allowed)}" if allowed else ""
        return f"{place}: unknown key {key}{hint}"
    if kind == "missing":
        return f"{place}: key {key} is required"
    msg = err["msg"].removeprefix("Value error, ")
    if "[key]" in loc:
        return f"{place}: {key}: {msg}"
    return f"{place}: key {key}: {msg}"


def load_config(path: str | Path, *, check_files: bool = True) -> RunConfig:
    """Read and validate ``run.toml``; resolve relative paths against its folder.

    With ``check_files``, every extract, mapping, the agreement and the audit key file must exist, and the
    backend must be usable on this machine (Spark: PySpark and Java installed), so a run fails before ingest.
    Raises ConfigError naming the key, its line and column, and the allowed values.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path.name}: not valid TOML ({exc})") from None
    try:
        cfg = RunConfig(**data)
    except SettingsError:
        # an environment override pydantic-settings could not parse (NONRECOURS_RUN_AUDIT_KEY holding the secret
        # itself, not a JSON key source): its text is never quoted, it may be the secret
        raise ConfigError(f"{path.name}: an environment variable NONRECOURS_RUN_… overriding a setting cannot be "
                          "read (a table such as audit_key takes JSON, {\"file\": \"keys/audit.key\"} or "
                          "{\"env\": \"NAME\"}, never the secret itself); its value is not shown") from None
    except ValidationError as exc:
        # every mistake, unknown keys first: a misspelt required key is one typo, not "key ... is required"
        errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        raise ConfigError("\n".join(_describe(e, text, path) for e in errors)) from None  # type: ignore[arg-type]
    digest = cfg.digest()
    cfg = _resolve(cfg, path.parent.resolve())
    cfg._digest = digest
    if check_files:
        _check_files(cfg, text, path)
        _check_backend(cfg, text, path)
    return cfg


def _check_backend(cfg: RunConfig, text: str, path: Path) -> None:
    from nonrecours.engine import check_backend
    from nonrecours.errors import EngineError

    try:
        check_backend(cfg.backend)
    except EngineError as exc:
        raise ConfigError(_describe({"loc": ("backend",), "type": "backend", "msg": str(exc)}, text, path)) from None


def _resolve(cfg: RunConfig, base: Path) -> RunConfig:
    def r(p: Path | None) -> Path | None:
        return None if p is None else (p if p.is_absolute() else base / p)

    agencies = {a: s.model_copy(update={"files": [r(f) for f in s.files], "mapping": r(s.mapping)})
                for a, s in cfg.agencies.items()}
    key = cfg.audit_key if cfg.audit_key.file is None else KeySource(file=r(cfg.audit_key.file))
    ablation = cfg.ablation.model_copy(update={"truth": r(cfg.ablation.truth)})
    return cfg.model_copy(update={"output": r(cfg.output), "exchange": r(cfg.exchange),
                                  "spill_dir": r(cfg.spill_dir), "agencies": agencies, "audit_key": key,
                                  "ablation": ablation})


def _check_files(cfg: RunConfig, text: str, path: Path) -> None:
    def fail(loc: tuple[str | int, ...], what: str) -> None:
        raise ConfigError(_describe({"loc": loc, "type": "file", "msg": what}, text, path))

    if not cfg.exchange.is_file():
        fail(("exchange",), f"file not found: {cfg.exchange}")
    if cfg.audit_key.file is not None and not cfg.audit_key.file.is_file():
        fail(("audit_key", "file"), f"not found: {cfg.audit_key.describe()} (create it with nonrecours keygen)")
    from nonrecours.connectors.ingest import id_of_file  # here: a configuration loads without the connectors

    for agency, spec in cfg.agencies.items():
        ids: dict[str, int] = {}
        for i, f in enumerate(spec.files):
            if not f.is_file():
                fail(("agencies", agency, "files", i), f"file not found: {f}")
            # the extract id names the canonical files: two files of one id would overwrite each other, and two
            # names differ yet give one id (« cnam juin » and « cnam_juin », two long names cut at 100 characters)
            extract = id_of_file(f)
            if extract in ids:
                fail(("agencies", agency, "files", i), f"files {ids[extract]} and {i} give the same extract id "
                                                       f"{extract}; rename one (the id is the file's name in ASCII "
                                                       "letters, digits, '.', '_' and '-', at most 100 characters)")
            ids[extract] = i
        if spec.mapping is not None and not spec.mapping.is_file():
            fail(("agencies", agency, "mapping"), f"file not found: {spec.mapping}")
    truth = cfg.ablation.truth
    if truth is not None and not (truth / "take_up.parquet").is_file():
        fail(("ablation", "truth"), f"not a synthetic truth folder (no take_up.parquet in {truth}); leave the "
                                    "key out to compare each scenario with the run with every agency")
    if cfg.output.exists() and not cfg.output.is_dir():
        fail(("output",), f"not a folder: {cfg.output}")
    from nonrecours.privacy import load_agreement

    agreement = load_agreement(cfg.exchange)
    for agency in cfg.agencies:
        if agency not in agreement.agencies:
            fail(("agencies", agency), f"agency {agency} is not a party to exchange {agreement.exchange_id}; "
                                       f"its parties: {', '.join(agreement.agencies)}")
    for benefit, agency in cfg.lead_agency.items():
        if agency not in cfg.agencies:
            fail(("lead_agency", benefit), f"agency {agency} sends no extract in this run; "
                                           f"agencies of the run: {', '.join(cfg.agencies)}")
