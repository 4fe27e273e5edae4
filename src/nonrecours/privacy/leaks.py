"""Find raw identifiers where none may be: NIR-shaped strings and given names in outputs and logs.

For tests and CI (``find_leaks(paths_or_texts, names)``): scan every file a run wrote (text, JSON, CSV,
logs; Parquet files are read column by column) and any captured text, and fail on a hit. A hit is
reported by place (source, line or column and row) with a *masked* excerpt, so a failing test does not
itself print the identifier.

A NIR-shaped string: sex digit, then 12 characters with ``2A``/``2B`` allowed at the department, then a
2-digit key, groups optionally separated by one space, dot or dash, not glued to other letters or digits
(so a 64-hex pseudonym that happens to hold 15 digits in a row is not a hit). Typos are hits too: the
key is not checked unless ``valid_key_only=True``.

A name is a hit as a whole word, except inside an encoded token: a run of 22 or more base64url characters
with a part (between ``-``, ``_``, ``=``) that mixes letters and digits (a return token). Random bytes spell a
short name now and then (« -Rose- » in one return token of a CI run); a name joined to a date or a number
(« Rose-Dupont-1985-03-12 ») has no such part and is still a hit, and so is a looked-for value as long as a token
(a pseudonym), wherever it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

__all__ = ["NIR_SHAPE", "Leak", "find_leaks"]

_SEP = r"[ .\-]?"
NIR_SHAPE = (rf"[1-478]{_SEP}[0-9]{{2}}{_SEP}[0-9]{{2}}{_SEP}(?:[0-9]{{2}}|2[ABab]){_SEP}"
             rf"[0-9]{{3}}{_SEP}[0-9]{{3}}{_SEP}[0-9]{{2}}")
"""Regex body of a NIR with optional separators (no anchors)."""

# not after "digit.": the fraction digits of a decimal number (a rate 20/73 = 0.273972602739726 has exactly 15);
# a NIR after a comma is still found (a comma-separated file puts one after a number)
_NIR_RE = re.compile(rf"(?<![0-9A-Za-z])(?<![0-9]\.){NIR_SHAPE}(?![0-9A-Za-z])")
_NIR_POLARS = rf"(?:^|[^0-9A-Za-z]){NIR_SHAPE}(?:$|[^0-9A-Za-z])"
_TEXT_SUFFIXES = {".txt", ".log", ".json", ".jsonl", ".csv", ".tsv", ".md", ".toml", ".yaml", ".yml",
                  ".dat", ".out", ".err", ".sql", ".html", ".xml", ""}


@dataclass(frozen=True)
class Leak:
    """One hit: where, what kind, and a masked excerpt (never the full identifier)."""

    source: str
    kind: str  # "nir" or "name"
    line: int | None = None
    column: str | None = None
    masked: str = ""

    def __str__(self) -> str:
        where = self.source
        if self.column is not None:
            where += f", column {self.column}"
        if self.line is not None:
            where += f", {'row' if self.column is not None else 'line'} {self.line}"
        return f"{where}: {self.kind}-shaped value ({self.masked})"


def _mask(s: str) -> str:
    s = s.strip()
    return s[:2] + "*" * max(len(s) - 2, 0)


def _key_ok(candidate: str) -> bool:
    digits = re.sub(r"[ .\-]", "", candidate).upper()
    body = digits[:5] + {"2A": "19", "2B": "18"}.get(digits[5:7], digits[5:7]) + digits[7:13]
    return body.isdigit() and 97 - int(body) % 97 == int(digits[13:15])


def _alternation(names: Iterable[str]) -> str | None:
    """Names of 3+ characters, longest first, escaped for both Python's and Polars' regex engines."""
    words = sorted({n.strip() for n in names if n and len(n.strip()) >= 3}, key=len, reverse=True)
    return "|".join(re.escape(w) for w in words) if words else None


_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=")
_TOKEN_MIN = 22  # base64url of 16 bytes: the shortest encoded value we issue
_MIXED_PART = re.compile(r"[^-_=]*(?:[A-Za-z][^-_=]*[0-9]|[0-9][^-_=]*[A-Za-z])")


def _in_token(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] lies inside an encoded token (see the module docstring)."""
    while start > 0 and text[start - 1] in _TOKEN_CHARS:
        start -= 1
    while end < len(text) and text[end] in _TOKEN_CHARS:
        end += 1
    run = text[start:end]
    return len(run) >= _TOKEN_MIN and _MIXED_PART.search(run) is not None


def _name_hits(name_re: re.Pattern[str], text: str) -> list[re.Match[str]]:
    # a value as long as a token (a pseudonym looked for as a name) is never spelled by chance: always a hit
    return [m for m in name_re.finditer(text)
            if m.end() - m.start() >= _TOKEN_MIN or not _in_token(text, m.start(), m.end())]


def _name_re(alternation: str | None) -> re.Pattern[str] | None:
    if alternation is None:
        return None
    return re.compile(r"(?<!\w)(?:" + alternation + r")(?!\w)", re.IGNORECASE)


def _scan_text(source: str, text: str, name_re: re.Pattern[str] | None, valid_key_only: bool) -> list[Leak]:
    leaks: list[Leak] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        for m in _NIR_RE.finditer(line):
            if not valid_key_only or _key_ok(m.group(0)):
                leaks.append(Leak(source, "nir", line=lineno, masked=_mask(m.group(0))))
        if name_re is not None:
            for m in _name_hits(name_re, line):
                leaks.append(Leak(source, "name", line=lineno, masked=_mask(m.group(0))))
    return leaks


def _scan_parquet(path: Path, alternation: str | None, valid_key_only: bool) -> list[Leak]:
    name_re = _name_re(alternation)
    leaks: list[Leak] = []
    df = pl.read_parquet(path)
    for col in df.columns:
        s = df.get_column(col)
        if s.dtype.is_nested():
            s = s.to_frame().select(pl.col(col).struct.json_encode()
                                    if s.dtype == pl.Struct else pl.col(col).cast(pl.List(pl.String))
                                    .list.join(" ")).get_column(col)
        elif s.dtype.is_float():
            # A NIR stored as a float is integral; other floats (amounts, rates) are digits, not NIRs.
            s = s.to_frame().select(pl.when(pl.col(col).round(0) == pl.col(col)).then(pl.col(col).cast(pl.Int64,
                                    strict=False)).cast(pl.String)).get_column(col)
        elif s.dtype != pl.String:
            s = s.cast(pl.String, strict=False)  # numbers too: a NIR stored as an integer is a leak
        hits = df.select(s.str.contains(_NIR_POLARS).fill_null(False).arg_true().alias("i")).get_column("i")
        for i in hits.to_list():
            value = s[i]
            for m in _NIR_RE.finditer(value):
                if not valid_key_only or _key_ok(m.group(0)):
                    leaks.append(Leak(str(path), "nir", line=i, column=col, masked=_mask(m.group(0))))
        if alternation is not None:
            name_hits = df.select(
                s.str.contains(r"(?i)(?:^|\W)(?:" + alternation + r")(?:$|\W)")
                .fill_null(False).arg_true().alias("i")).get_column("i")
            for i in name_hits.to_list():
                found = _name_hits(name_re, s[i])
                if found:
                    leaks.append(Leak(str(path), "name", line=i, column=col, masked=_mask(found[0].group(0))))
    return leaks


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file())
    return [path]


def find_leaks(sources: Iterable[str | Path] | str | Path, names: Iterable[str] = (), *,
               valid_key_only: bool = False) -> list[Leak]:
    """Scan files, folders (recursively) and texts for NIR-shaped strings and the given ``names``.

    A ``Path`` (or a ``str`` naming an existing path) is read; any other ``str`` is scanned as text.
    Binary files other than Parquet are decoded as latin-1 so that strings inside still show.
    Returns the hits (empty when clean); ``str(leak)`` is safe to print.
    """
    if isinstance(sources, str | Path):
        sources = [sources]
    alternation = _alternation(names)
    name_re = _name_re(alternation)
    leaks: list[Leak] = []
    for src in sources:
        path = src if isinstance(src, Path) else (Path(src) if _is_path(src) else None)
        if path is None:
            leaks += _scan_text("<text>", str(src), name_re, valid_key_only)
            continue
        for f in _files(path):
            if f.suffix == ".parquet":
                leaks += _scan_parquet(f, alternation, valid_key_only)
                continue
            data = f.read_bytes()
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                text = data.decode("latin-1")
            leaks += _scan_text(str(f), text, name_re, valid_key_only)
    return leaks


def _is_path(s: str) -> bool:
    if "\n" in s or len(s) > 4096:
        return False
    try:
        return Path(s).exists()
    except OSError:
        return False
