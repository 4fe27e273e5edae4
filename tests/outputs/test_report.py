"""report.html: its figures are the statistics' and the answers' cells, secrets stay secret, and Debian's
Chromium renders it offline with no console error and no network request.

The report comes from the session's demo run (``tests/conftest.py``: the batch job writes it in its outputs
stage); only the secrecy test rebuilds one, from that run's own detection tables under a higher threshold.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path

import polars as pl
import pytest
from bs4 import BeautifulSoup
from hypothesis import given, settings
from hypothesis import strategies as st

from nonrecours.atomic import file_sha256
from nonrecours.audit import read_manifest
from nonrecours.outputs import StatisticsConfig, build_report, build_statistics, territory_table, unit_profiles
from nonrecours.outputs.report import (
    REPORT,
    SECRET_MARK,
    SHORT_BENEFITS,
    STAT_COLUMNS,
    UNDEFINED_MARK,
    fmt_eur,
    fmt_eur_change,
    fmt_pct,
    fmt_points,
    fmt_tenth,
)
from nonrecours.outputs.statistics import published_benefits
from nonrecours.schemas.benefits import AMOUNT_BENEFITS
from nonrecours.schemas.benefits import benefit as catalogue_row

MONTH = dt.date(2026, 6, 1)
FOLDER = f"outputs/{MONTH:%Y-%m}"
STAT_TABLES = ("synthese", "territoires", "foyers", "degres", "coherence")


@pytest.fixture(scope="module")
def page(demo_run: Path) -> BeautifulSoup:
    return BeautifulSoup((demo_run / FOLDER / REPORT).read_text(encoding="utf-8"), "html.parser")


def french_number(text: str) -> float:
    """« 124 936 € », « 48,5 % », « 1 234 », « −2,5 pts » → the number shown (a percentage or percentage points as
    a fraction)."""
    raw = re.sub(r"[\s\u202f\u00a0€]", "", text).replace("\u2212", "-")
    pct = raw.endswith("%") or raw.endswith("pts")
    value = float(raw.removesuffix("pts").rstrip("%").replace(",", "."))
    return value / 100 if pct else value


def shown_precision(text: str) -> float:
    """Half a unit of the last digit shown: how far the displayed number may be from the exact one."""
    digits = len(text.removesuffix("pts").split(",")[1].rstrip(" %€\u202f\u00a0")) if "," in text else 0
    return 0.5 * 10 ** -digits / (100 if "%" in text or text.endswith("pts") else 1) + 1e-12


def check_cell(td, value, secret: bool) -> None:
    """A numeric cell shows ``value`` in French (or « s » for a secret, « — » for undefined); its
    data-value is the exact value."""
    text = td.get_text()
    if secret:
        assert text == SECRET_MARK and "secret" in td["class"] and td["data-value"] == "", td
        return
    if value is None:
        assert text == UNDEFINED_MARK and td["data-value"] == "", td
        return
    assert float(td["data-value"]) == pytest.approx(value, abs=0, rel=1e-15), td
    assert abs(french_number(text) - value) <= shown_precision(text), (text, value)


def rows(page: BeautifulSoup, table_id: str):
    table = page.find("table", id=table_id)
    assert table is not None, f"no table {table_id}"
    return table.tbody.find_all("tr")


def chart(page: BeautifulSoup, title: str) -> str:
    """The description a chart carries (``aria-label``: its title, then each value it draws)."""
    found = [s["aria-label"] for s in page.find_all("svg") if s["aria-label"].startswith(title + ". ")]
    assert len(found) == 1, title
    return found[0]


def test_the_run_writes_and_lists_the_report(demo_run):
    path = demo_run / FOLDER / REPORT
    listed = {o["path"]: o for o in read_manifest(demo_run)["outputs"]}
    assert f"{FOLDER}/{REPORT}" in listed
    assert listed[f"{FOLDER}/{REPORT}"]["sha256"] == file_sha256(path)
    # deterministic: rebuilding it from the same run gives the same page
    manifest = read_manifest(demo_run)
    assert build_report(demo_run, MONTH, run_info=manifest) == path.read_text(encoding="utf-8")


def test_figures_equal_the_statistics_table(demo_run, page):
    stats = pl.read_parquet(demo_run / FOLDER / "statistics.parquet")
    by_key = {(r["benefit"], r["level"], r["area"], r["household_type"]): r for r in stats.iter_rows(named=True)}
    seen: dict[str, set] = {}
    checked = 0
    for table_id in STAT_TABLES:
        seen[table_id] = set()
        for tr in rows(page, table_id):
            key = (tr["data-benefit"], tr["data-level"], tr["data-area"], tr["data-household"])
            row = by_key[key]
            seen[table_id].add(key)
            for td in tr.find_all("td", attrs={"data-col": True}):
                # a published cell's count of 1 to 10 units (or what would give one back) is secret on its own
                check_cell(td, row[td["data-col"]], bool(row["secret"]) or td["data-col"] in row["secret_measures"])
                checked += 1
    whole = {k for k in by_key if k[1] == "total" and k[3] == "ensemble"}
    assert seen["synthese"] == seen["degres"] == seen["coherence"] == whole
    # every area of every level but the commune, whose secret rows show no figure (they are in statistics.csv)
    assert seen["territoires"] == {k for k in by_key if k[3] == "ensemble"
                                   and (k[1] != "commune" or not by_key[k]["secret"])}
    assert seen["foyers"] == {k for k in by_key if k[1] in ("total", "departement") and k[3] != "ensemble"}
    assert checked > 3000
    # secrecy is the statistics' own: as many secret cells as secret rows shown, and as many rows with a secret
    # figure as rows of published cells with a measure of the table secret
    shown_cols = {c for c, _, _ in STAT_COLUMNS}
    secret_rows = sum(by_key[k]["secret"] for t in ("territoires", "foyers") for k in seen[t])
    told_rows = sum(not by_key[k]["secret"] and bool(shown_cols & set(by_key[k]["secret_measures"]))
                    for t in ("territoires", "foyers") for k in seen[t])
    shown_secret = sum(1 for t in ("territoires", "foyers") for tr in rows(page, t)
                       if tr.find("td", class_="secret") is not None)
    assert secret_rows + told_rows == shown_secret
    assert told_rows > 0  # the demo's published communes hide their counts of 1 to 10 flags
    # the demo has secret communes, which the page leaves out (test_secret_statistics_hide_the_answers_counts_too
    # shows secret cells as such)
    assert any(r["secret"] for k, r in by_key.items() if k[1] == "commune" and k[3] == "ensemble")
    # the charts draw the same cells
    rates, amounts = (chart(page, "Taux de non-recours par prestation"),
                      chart(page, "Montants annuels non perçus par prestation"))
    for (benefit, *_), row in ((k, by_key[k]) for k in sorted(whole)):
        label = SHORT_BENEFITS[benefit]
        if row["secret"] or row["non_take_up_rate_central"] is None:
            assert f"{label} : secret ou non défini" in rates
            continue
        assert_said(rates, label, row, "non_take_up_rate", fmt_pct)
        if benefit not in AMOUNT_BENEFITS:  # a coverage (the CSS): no money foregone, not drawn, « — » in the table
            assert row["yearly_foregone_central"] is None and f"{label} :" not in amounts
            continue
        if row["yearly_foregone_central"] is None:  # secret: of fewer than 11 households
            assert f"{label} : secret ou non défini" in amounts
            continue
        assert_said(amounts, label, row, "yearly_foregone", fmt_eur)


def assert_said(chart_text: str, label: str, row: dict, measure: str, fmt) -> None:
    """A range chart says a row's central estimate and its range, no range where an end is secret."""
    lo, hi = row[f"{measure}_low"], row[f"{measure}_high"]
    text = f"{label} : {fmt(row[f'{measure}_central'])}"
    if lo is not None and hi is not None:
        assert f"{text} (de {fmt(lo)} à {fmt(hi)})" in chart_text
    else:
        assert text in chart_text and f"{text} (de" not in chart_text


def test_answers_and_quality_equal_their_tables(demo_run, page):
    from nonrecours.outputs.report import _flag_secrecy

    folder = demo_run / FOLDER
    # a benefit's counts of flags are shown where its whole-file count of flags is published (11 or more)
    published = published_benefits(pl.read_parquet(folder / "statistics.parquet"))
    auto = {(r["benefit"], r["scenario"]): r for r in pl.read_parquet(folder / "answer3_automation.parquet")
            .iter_rows(named=True)}
    trs = rows(page, "automatisation")
    assert {(tr["data-benefit"], tr["data-scenario"]) for tr in trs} == set(auto)
    for tr in trs:
        for td in tr.find_all("td", attrs={"data-col": True}):
            r = auto[(tr["data-benefit"], tr["data-scenario"])]
            # the answer's own secrecy too: a scenario of 1 to 10 flags and the one hidden with it
            check_cell(td, r[td["data-col"]], tr["data-benefit"] not in published or r["secret"]
                       or td["data-col"] in r["secret_measures"])
    held = {(r["benefit"], r["population"], r["source"]): r
            for r in pl.read_parquet(folder / "answer2_claim_fields_held.parquet").iter_rows(named=True)}
    trs = rows(page, "champs")
    assert {(tr["data-benefit"], tr["data-population"], tr["data-source"]) for tr in trs} == set(held)
    for tr in trs:
        for td in tr.find_all("td", attrs={"data-col": True}):
            r = held[(tr["data-benefit"], tr["data-population"], tr["data-source"])]
            check_cell(td, r[td["data-col"]], td["data-col"] in ("units", "share_held") and (
                tr["data-benefit"] not in published or r["secret"] or td["data-col"] in r["secret_measures"]))
    need = pl.read_parquet(folder / "answer1_data_to_exchange.parquet")
    for tr in rows(page, "echanges"):
        sub = need.filter(pl.col("benefit") == tr["data-benefit"])
        cells = {td["data-col"]: td for td in tr.find_all("td", attrs={"data-col": True})}
        check_cell(cells["inputs"], sub.height, False)
        check_cell(cells["supplied"], int(sub["supplied"].sum()), False)
        check_cell(cells["caf"], int(sub["agencies"].list.contains("caf").sum()), False)
        # the data no extract carries, in French (not the engine's « ofpra_protection »)
        assert not re.search(r"\b[a-z]+_[a-z_]+\b", tr.find_all("td")[-1].get_text()), tr.find_all("td")[-1]
    summary = json.loads((demo_run / "detection" / "2026-06" / "summary.json").read_text())
    # a grade's flags hide with a secret benefit, or where they or the units excluded of that grade are few
    hidden = _flag_secrecy(summary, published, 11)
    assert set(hidden) == {(b, g) for b, gs in summary["flags_by_benefit_grade"].items() for g in gs}
    for tr in rows(page, "signalements"):
        for td in tr.find_all("td", attrs={"data-col": True}):
            check_cell(td, summary["flags_by_benefit_grade"][tr["data-benefit"]][td["data-col"]],
                       hidden[(tr["data-benefit"], td["data-col"])])
            if tr["data-benefit"] not in published:
                assert hidden[(tr["data-benefit"], td["data-col"])]
    for tr in rows(page, "conflits"):
        check_cell(tr.find("td", attrs={"data-col": True}), summary["conflicts"][tr["data-key"]], False)
    reports = {json.loads(p.read_text())["file"]: json.loads(p.read_text())
               for p in (demo_run / "workspace" / "reports").glob("*.json")}
    trs = rows(page, "quarantaine")
    assert {tr["data-file"] for tr in trs} == set(reports)
    for tr in trs:
        r = reports[tr["data-file"]]
        cells = {td["data-col"]: td for td in tr.find_all("td", attrs={"data-col": True})}
        for col in ("rows_read", "rows_accepted", "rows_quarantined"):
            check_cell(cells[col], r[col], False)
    assert len(rows(page, "motifs")) == sum(len(r["faults"]) for r in reports.values())
    # the parameters in force on the month, from the rules stage's bindings
    bindings = json.loads((demo_run / "rules" / "parameters-2026-06.json").read_text())
    assert len(rows(page, "parametres")) == sum(b["month"] == "2026-06-01" for b in bindings) > 20
    # each value with its unit in French: no « count » nor « smic_hours » as the parameter files write them
    shown = " ".join(tr.find_all("td")[1].get_text() for tr in rows(page, "parametres"))
    assert not re.search(r"\b(count|smic_hours)\b", shown)


def test_exchange_value_equals_the_ablation_table(demo_run, page):
    """Answer 1 measured: every cell of the report's table is the ablation stage's, and the plain-French
    reading quotes that table's figures (the agency whose absence loses the most flags, the CAF alone)."""
    from nonrecours.outputs.report import _scenario_label

    table = pl.read_parquet(demo_run / FOLDER / "answer1_exchange_value.parquet")
    by_key = {(r["benefit"], r["scenario"]): r for r in table.iter_rows(named=True)}
    published = published_benefits(pl.read_parquet(demo_run / FOLDER / "statistics.parquet"))
    trs = rows(page, "valeur-echanges")
    assert {(tr["data-benefit"], tr["data-scenario"]) for tr in trs} == set(by_key)
    checked = 0
    for tr in trs:
        row = by_key[(tr["data-benefit"], tr["data-scenario"])]
        assert tr.find("td").get_text() == _scenario_label(row["scenario"])
        for td in tr.find_all("td", attrs={"data-col": True}):
            # a secret benefit, or a row or figure the table keeps secret (answers.secret_answers)
            check_cell(td, row[td["data-col"]], row["benefit"] not in published or row["secret"]
                       or td["data-col"] in row["secret_measures"])
            checked += 1
    assert checked == 8 * len(by_key)
    assert table.get_column("secret").any()  # the demo's ASI, AF, PAJE at least
    # read out: each published benefit whose full run's flags and some scenario's flags lost are published, or
    # (its counts secret) its recall and some scenario's (on a small demo, perhaps none)
    listed = page.find("ul", class_="reading")
    reading = [li.get_text() for li in listed.find_all("li")] if listed else []

    def sans(b: str, col: str) -> list[dict]:
        return [r for (c, s), r in by_key.items() if c == b and s.startswith("sans ") and r[col] is not None]

    def read(b: str) -> bool:
        full = by_key.get((b, "toutes"))
        if full is None or full["secret"]:
            return False
        if full["flags"] is not None:
            return bool(full["flags"]) and bool(sans(b, "flags_lost"))
        return full["recall"] is not None and bool(sans(b, "recall"))

    assert published and len(reading) == len([b for b in published if read(b)])
    for sentence in reading:
        benefit = next(b for b, label in SHORT_BENEFITS.items() if sentence.startswith(label + " : "))
        full, caf = by_key[(benefit, "toutes")], by_key[(benefit, "CAF seule")]
        every = [r for (b, s), r in by_key.items() if b == benefit and s.startswith("sans ")]
        practice = " (la pratique actuelle)" if catalogue_row(benefit).lead == "caf" else ""
        if full["flags"] is None:  # the counts secret: the lowest recall without one agency, no count
            shown = sans(benefit, "recall")
            worst = min(shown, key=lambda r: (r["recall"], r["scenario"]))
            assert f"le rappel passe de {fmt_pct(full['recall'])} à {fmt_pct(worst['recall'])}" in sentence
            assert ("parmi les scénarios publiés" in sentence) == (len(shown) < len(every))
            assert "signalements sont perdus" not in sentence and not re.search(r"CAF[^,]*, \d", sentence)
            if caf["recall"] is not None:
                assert f"avec le seul extrait de la CAF{practice}, rappel {fmt_pct(caf['recall'])}" in sentence
            continue
        shown = sans(benefit, "flags_lost")  # the rows publishing their flags lost
        assert ("parmi les scénarios publiés" in sentence) == (len(shown) < len(every))
        lost = max(r["flags_lost"] for r in shown)
        if lost:
            assert f"{lost} des {full['flags']} signalements sont perdus" in sentence.replace("\u202f", "")
        if caf["secret"]:
            assert "seul extrait de la CAF" not in sentence
            continue
        # today's practice only for what the CAF pays (not the ASPA, CSS, ASI); the flags counted c+p
        counted = ("signalements certains ou probables" if caf["flags"] > 1  # French: « 0 signalement »
                   else "signalement certain ou probable")
        said = f"avec le seul extrait de la CAF{practice}, {caf['flags']} {counted}"
        assert said in sentence.replace("\u202f", ""), sentence
        if caf["recall"] is not None:  # the demo has a truth; a benefit it holds no true case of has no recall
            assert f"rappel {fmt_pct(caf['recall'])})" in sentence
        elif caf["flags_gained"] is not None:  # secret where few are gained or kept: not read out
            assert f"dont {caf['flags'] - caf['flags_gained']} du traitement complet" in sentence.replace("\u202f", "")
        else:
            assert "du traitement complet" not in sentence


def test_the_page_is_french_and_self_contained(page, demo_run):
    html = (demo_run / FOLDER / REPORT).read_text(encoding="utf-8")
    assert page.html["lang"] == "fr"
    for sid in ("synthese-section", "territoires-section", "degres-section", "reponses", "qualite",
                "parametres-section", "limites"):
        assert page.find(id=sid) is not None, sid
    # nothing to fetch: no link, no src, no url(), no @import, no address at all; a CSP that forbids loads
    assert not page.find_all(["link", "img", "iframe", "object", "embed"])
    assert not page.find_all(src=True)
    assert not re.search(r"https?://|url\((?!#)|@import|@font-face|//[a-z0-9-]+\.[a-z]", html, flags=re.I)
    assert all(a["href"].startswith("#") for a in page.find_all(href=True))
    csp = page.find("meta", attrs={"http-equiv": "Content-Security-Policy"})
    assert "default-src 'none'" in csp["content"]
    # charts: inline SVG with glyphs as paths (no text element needing a font)
    svgs = page.find_all("svg")
    assert len(svgs) >= 6 and all(s.get("aria-label") for s in svgs)
    assert not any(s.find("text") for s in svgs)
    # French formatting: percentages with a decimal comma and a space before %, euros after the number
    shown = page.find("table", id="synthese").get_text()
    assert re.search(r"\d,\d\u00a0%", shown) and re.search(r"\d\u00a0€", shown)
    # what is not modelled: each benefit's rule module's own paragraph, in French
    limits = page.find(id="limites").get_text()
    assert "RSA jeune actif" in limits and "revenus du capital" in limits
    assert not page.find(lang="en") and "capital income" not in limits
    # every label of the page is French: no count key or quarantine reason shown as the code writes it
    shown = page.find(id="qualite").get_text(" ")  # cells apart: a raw key beside its count is still a word
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", shown.replace("france_travail.csv", "")), \
        re.findall(r"\b[a-z]+_[a-z_]+\b", shown)
    assert "(motif non traduit)" not in shown and "check key" not in shown and "missing" not in shown


def test_not_modelled_translations_follow_the_rule_modules():
    """Each translation is tied to the digest of its rule module's English paragraph: when a module's
    « Not modelled » changes, this fails until the French text (report.NOT_MODELLED) is updated."""
    import hashlib

    from nonrecours.outputs.report import NOT_MODELLED, english_not_modelled

    for module, (digest, french) in NOT_MODELLED.items():
        english = english_not_modelled(module)
        assert english, module
        assert hashlib.sha256(english.encode()).hexdigest()[:12] == digest, (module, english)
        assert french.endswith(".") and "capital" in french, module
    # every benefit of the catalogue has its line, from its own rule module (one source)
    from nonrecours.outputs.report import not_modelled
    from nonrecours.schemas.benefits import CATALOGUE

    assert set(NOT_MODELLED) == {b.rule_module for b in CATALOGUE}
    assert len(not_modelled()) == len({b.rule_module for b in CATALOGUE})
    # a run that looked for four benefits says what those leave out, not the catalogue's fourteen
    asked = ("rsa", "ppa", "aspa", "css_free", "css_participation")
    shown = [label for label, _ in not_modelled(asked)]
    assert len(shown) == 4 and shown == [label for label, _ in not_modelled() if label in shown]
    assert "complémentaire santé solidaire" in shown and not any("logement" in label for label in shown)


def test_quarantine_reasons_and_commune_names_are_french():
    from nonrecours.outputs.report import commune_names, quarantine_reason

    assert quarantine_reason("NIR (positions 10-24): invalid NIR check key") == \
        "NIR (positions 10-24) : clé de contrôle du NIR invalide"
    assert quarantine_reason("DATE_NAIS: not a date in format %d/%m/%Y") == \
        "DATE_NAIS : pas une date au format %d/%m/%Y"
    assert quarantine_reason("line: blank line (truncated last line?)") == \
        "ligne : ligne vide (dernière ligne tronquée ?)"
    assert quarantine_reason("X: something new").endswith("(motif non traduit)")  # never silently English
    # names from the national table, not only the synthetic territory's: Cahors, Toulouse, and an overseas
    # commune (not in the mainland table) by its EPCI; a code that is no commune gets no name
    names = commune_names(pl.Series(["46042", "31555", "97411", "99999", None]))
    assert names == {"46042": "Cahors", "31555": "Toulouse",
                     "97411": "commune de CA Intercommunale du Nord de la Réunion (CINOR)"}


def test_secret_statistics_hide_the_answers_counts_too(demo_run, tmp_path):
    """Under a threshold above the extract's size every statistics cell is secret: the report then shows no
    count, rate or amount of the statistics, and none of the answers' per-benefit counts either."""
    det = demo_run / "detection" / "2026-06"
    run = tmp_path / "run"
    for sub in ("detection/2026-06", "rules", "workspace/reports", FOLDER):
        shutil.copytree(demo_run / sub, run / sub)
    units = pl.read_parquet(det / "units.parquet")
    profiles = unit_profiles(pl.scan_parquet(det / "memberships.parquet"), pl.scan_parquet(det / "residence.parquet"),
                             MONTH)
    stats = build_statistics(units, profiles, territory_table("cahors"),
                             config=StatisticsConfig(threshold=units.height + 1))
    assert stats["secret"].all()
    stats.write_parquet(run / FOLDER / "statistics.parquet")
    page = BeautifulSoup(build_report(run, MONTH), "html.parser")
    for table_id in (*STAT_TABLES, "automatisation", "signalements"):
        numeric = [td for tr in rows(page, table_id) for td in tr.find_all("td", class_="num")]
        assert numeric and all(td.get_text() == SECRET_MARK for td in numeric), table_id
    for tr in rows(page, "champs"):
        assert tr.find("td", attrs={"data-col": "units"}).get_text() == SECRET_MARK
        assert tr.find("td", attrs={"data-col": "share_held"}).get_text() == SECRET_MARK
    # the charts draw no value either
    for title in ("Taux de non-recours par prestation", "Montants annuels non perçus par prestation",
                  "Unités ouvrant droit, par degré de confiance", "Signalements par scénario d'automatisation"):
        said = chart(page, title).split(". ", 1)[1]
        assert not re.search(r"\d", said), said
    epci = chart(page, "Taux de non-recours central par EPCI").split(". ", 1)[1].split(" ; ")
    assert epci and all(item.endswith(" : omis") for item in epci)


def chromium() -> str:
    path = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if path is None:
        pytest.fail("Chromium is not installed: the report's render test needs Debian's package "
                    "(apt-get install -y chromium, as root; .ci/run does it). See README, 'System package'.")
    return path


def test_chromium_renders_it_offline_without_errors(demo_run, tmp_path_factory):
    from playwright.sync_api import sync_playwright

    report = demo_run / FOLDER / REPORT
    shot = tmp_path_factory.mktemp("report-render") / "report.png"
    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900}, offline=True)
            page = context.new_page()
            page.on("console", lambda m: errors.append(f"{m.type}: {m.text}") if m.type in ("error", "warning")
                    else None)
            page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
            page.on("request", lambda r: requests.append(r.url))
            page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
            page.goto(report.as_uri(), wait_until="load")
            assert page.title().startswith("Non-recours aux prestations")
            assert page.locator("svg").count() >= 6
            page.screenshot(path=str(shot), full_page=True)  # as a reader first sees it
            # the territory table sorts on its figures (secret and undefined cells last) and filters
            header = page.locator("#territoires thead th", has_text="Taux (central)")
            header.click()
            assert header.get_attribute("aria-sort") == "ascending"
            values = page.eval_on_selector_all(
                "#territoires tbody tr td[data-col='non_take_up_rate_central']",
                "tds => tds.map(td => td.getAttribute('data-value'))")
            numbers = [float(v) for v in values if v]
            assert numbers == sorted(numbers) and all(v for v in values[:len(numbers)])
            page.select_option("select[data-filter='territoires']", "rsa")
            visible = page.eval_on_selector_all("#territoires tbody tr:not([hidden])",
                                                "trs => trs.map(tr => tr.getAttribute('data-benefit'))")
            assert visible and set(visible) == {"rsa"}
            page.select_option("select[data-filter='territoires']", "")
        finally:
            browser.close()
    assert not errors, errors
    assert requests == [report.as_uri()]  # the file itself, nothing else
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 100_000
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert width == 1280 and height > 3000
    print(f"screenshot: {shot}")


def test_a_month_without_statistics_says_so(demo_run, tmp_path):
    """When the outputs stage could not build statistics (no residence or composition in the workspace), the
    report says so instead of showing figures from elsewhere, and still shows the quality and parameters."""
    run = tmp_path / "run"
    for sub in ("detection/2026-06", "rules", "workspace/reports", FOLDER):
        shutil.copytree(demo_run / sub, run / sub)
    (run / FOLDER / "statistics.parquet").unlink()
    page = BeautifulSoup(build_report(run, MONTH), "html.parser")
    assert "Les statistiques n'ont pas été produites" in page.find(id="limites").get_text()
    for table_id in STAT_TABLES:
        assert page.find("table", id=table_id) is None
    counts = page.find("table", id="automatisation").find_all("td", class_="num")
    assert counts and all(td.get_text() == SECRET_MARK for td in counts)  # nothing tells what is publishable
    assert rows(page, "quarantaine") and rows(page, "parametres")


@pytest.mark.parametrize(("familles", "persons", "expected"), [
    (1, 1, "1 famille (1 personne) vit à Mayotte"),
    (2, 5, "2 familles (5 personnes) vivent à Mayotte")])
def test_the_limits_agree_in_number(demo_run, tmp_path, familles, persons, expected):
    """One famille of Mayotte is « 1 famille (1 personne) vit », not « 1 familles (1 personnes) vivent » (found
    on a hand-written territory, 5 December 2026); so for the person not evaluated and the unknown value."""
    run = tmp_path / "run"
    for sub in ("detection/2026-06", "rules", "workspace/reports", FOLDER):
        shutil.copytree(demo_run / sub, run / sub)
    path = run / "detection" / "2026-06" / "summary.json"
    summary = json.loads(path.read_text())
    summary["territory_not_modelled"] = {"familles": familles, "persons": persons}
    summary["persons_not_evaluated"] = familles
    summary["unknowns"] = {**summary.get("unknowns", {}), "values": familles, "units": familles}
    path.write_text(json.dumps(summary))
    text = " ".join(BeautifulSoup(build_report(run, MONTH), "html.parser").find(id="limites").get_text().split())
    assert expected in text
    if familles == 1:
        assert "1 personne connue des organismes n'est dans aucune famille et n'est pas évaluée" in text
        assert "1 valeur qu'aucun organisme ne fournit (sur 1 personne ou unité) reste inconnue : elle fait" in text
    else:
        assert "2 personnes connues des organismes ne sont dans aucune famille" in text
        assert ("2 valeurs qu'aucun organisme ne fournit (sur 2 personnes ou unités) restent inconnues : elles "
                "font") in text


def test_payments_known_in_part_are_said(demo_run, tmp_path):
    """A run without the CNAM's extract while the MSA's came: the CSS's payments are known in part; the report
    names the agency missing and says its rates are not published."""
    run = tmp_path / "run"
    for sub in ("detection/2026-06", "rules", "workspace/reports", FOLDER):
        shutil.copytree(demo_run / sub, run / sub)
    info = {"payers_absent": {"2026-06": {"css_free": ["cnam"]}}}
    text = " ".join(BeautifulSoup(build_report(run, MONTH, run_info=info), "html.parser")
                    .find(id="limites").get_text().split())
    assert (f"{SHORT_BENEFITS['css_free']} : aucun extrait de l'Assurance maladie, qui en verse aussi : ses "
            "versements ne sont connus qu'en partie et ses taux de non-recours ne sont pas publiés.") in text
    plain = " ".join(BeautifulSoup(build_report(run, MONTH), "html.parser").find(id="limites").get_text().split())
    assert "connus qu'en partie" not in plain


def test_no_identifier_in_the_report(demo_run):
    """Aggregates only: no NIR-shaped string, no name, no pseudonym of a flagged person or unit."""
    from nonrecours.privacy import find_leaks

    ids = pl.read_parquet(demo_run / "truth" / "identities.parquet")
    flags = pl.read_parquet(demo_run / "detection" / "2026-06" / "flags.parquet")
    pseudonyms = set(flags["claimant_id"]) | set(flags["unit_id"])
    from nonrecours.synth import load_territory

    places = " ".join(load_territory("cahors")["name"]).lower()  # public commune names (Saint-Martin-Labouval)
    names = {n for n in set(ids["first_name"]) | set(ids["last_name"]) if len(n) > 3 and n.lower() not in places}
    report = demo_run / FOLDER / REPORT
    assert not find_leaks([report], names=names | pseudonyms)
    html = report.read_text(encoding="utf-8")
    assert pseudonyms and not any(p in html for p in pseudonyms)


@settings(max_examples=300, deadline=None)
@given(st.integers(-10**12, 10**12), st.floats(-1e9, 1e9, allow_nan=False), st.booleans())
def test_formats_with_the_parsed_locale_equal_babels_on_the_locale_name(n: int, x: float, cents: bool) -> None:
    """The locale is parsed once (``_locale``): every format gives what babel gives on the name, as before."""
    from babel.dates import format_date
    from babel.numbers import format_currency, format_decimal, format_percent

    from nonrecours.outputs.report import LOCALE, _half_up, fmt_int, fmt_month, fmt_number, fmt_pct_tick

    assert fmt_int(n) == format_decimal(n, locale=LOCALE)
    assert fmt_number(x) == format_decimal(x, format="#,##0.######", locale=LOCALE)
    assert fmt_pct(x) == format_percent(_half_up(x, 3), "#,##0.0\u00a0%", locale=LOCALE)
    assert fmt_pct_tick(x) == format_percent(_half_up(x, 2), "#,##0\u00a0%", locale=LOCALE)
    money = "#,##0.00\u00a0¤" if cents else "#,##0\u00a0¤"
    assert fmt_eur(x, cents=cents) == format_currency(_half_up(x, 2 if cents else 0), "EUR", format=money,
                                                      locale=LOCALE, currency_digits=False)
    month = dt.date(2000 + n % 50, 1 + n % 12, 1)
    assert fmt_month(month) == format_date(month, "MMMM y", locale=LOCALE)


def test_the_territory_table_keeps_a_national_extract_readable():
    """An extract spanning France lists every commune: the page shows every total, département and EPCI row,
    and only the largest published communes of each benefit (the rest is in statistics.csv, and said)."""
    from nonrecours.outputs import report

    n = report.COMMUNES_SHOWN + 150
    communes = pl.DataFrame({"benefit": ["rsa"] * n, "level": ["commune"] * n,
                             "area": [f"{46000 + i:05d}" for i in range(n)], "units": list(range(n)),
                             "secret": [i % 3 == 0 for i in range(n)]})
    others = pl.DataFrame({"benefit": ["rsa"] * 3, "level": ["total", "departement", "epci"],
                           "area": ["total", "46", "200023737"], "units": [n * 10, n * 10, n * 5],
                           "secret": [False, False, True]})
    ens = pl.concat([others, communes]).with_columns(household_type=pl.lit("ensemble"))
    shown = report._shown_areas(ens)
    assert shown.filter(pl.col("level") != "commune").height == 3  # a secret EPCI row is still a row
    kept = shown.filter(pl.col("level") == "commune")
    assert kept.height == report.COMMUNES_SHOWN and not kept.get_column("secret").any()
    published = communes.filter(~pl.col("secret")).sort("units", descending=True)
    assert set(kept.get_column("area")) == set(published.head(report.COMMUNES_SHOWN).get_column("area"))


def test_every_series_of_a_grouped_chart_is_told_apart(monkeypatch):
    """Fourteen benefits and seven colours: the eighth series on took the first ones' colours (the RSA and the ASI
    alike in the legend); a pattern tells them apart now. A series with no bar has no legend entry (it was drawn in
    matplotlib's default blue, like the RSA)."""
    import nonrecours.outputs.report as report

    seen: dict = {}
    finish = report._finish

    def spy(fig, ax, **kw):  # type: ignore[no-untyped-def]
        handles, labels = ax.get_legend_handles_labels()
        seen["labels"] = labels
        seen["styles"] = [(tuple(h.patches[0].get_facecolor()), h.patches[0].get_hatch()) for h in handles]
        return finish(fig, ax, **kw)

    monkeypatch.setattr(report, "_finish", spy)
    series = {f"b{k}": [0.05 * (k + 1), None] for k in range(14)} | {"empty": [None, None]}
    report.grouped_chart(["g1", "g2"], series, title="t", xlabel="x", fmt=fmt_pct)
    assert seen["labels"] == [f"b{k}" for k in range(14)]
    assert len(set(seen["styles"])) == 14


def test_a_change_of_rate_is_in_signed_percentage_points():
    """« Écart de rappel » is a difference of two rates: points, the minus sign U+2212, never « -25,7 % » (a
    relative change to a reader)."""
    assert fmt_points(-0.257) == "\u221225,7\u00a0pts"
    assert fmt_points(0.01) == "+1,0\u00a0pts" and fmt_points(0.0) == "0,0\u00a0pts"
    assert fmt_points(-0.00001) == "0,0\u00a0pts"  # no sign on what shows as nothing
    assert fmt_eur_change(-124.2) == "\u2212124\u00a0€" and fmt_eur_change(30) == "+30\u00a0€"
    assert fmt_eur_change(0.2) == "0\u00a0€"
    # a weighted count: one decimal, a half rounded up (test_a_half_rounds_away_from_zero_in_every_format)
    assert [fmt_tenth(x) for x in (2.0, 194.74, 1.05)] == ["2,0", "194,7", "1,1"]


def test_a_half_rounds_away_from_zero_in_every_format() -> None:
    """babel rounds half to even: one table printed 18.75 % as 18,8 % and 6.25 % as 6,2 % (an outside tester, 6
    December 2026). A reader rounds a half up, from the decimal text the figure is written with."""
    from nonrecours.outputs.report import fmt_pct_tick, fmt_points

    assert [fmt_pct(0.1875), fmt_pct(0.0625), fmt_pct(-0.0625)] == ["18,8\u00a0%", "6,3\u00a0%", "-6,3\u00a0%"]
    assert [fmt_tenth(2.25), fmt_tenth(2.35), fmt_pct_tick(0.125)] == ["2,3", "2,4", "13\u00a0%"]
    assert [fmt_eur(2.5), fmt_eur(0.125, cents=True), fmt_points(-0.0625)] == ["3\u00a0€", "0,13\u00a0€",
                                                                               "\u22126,3\u00a0pts"]


def test_the_months_an_extract_lost_are_said(demo_run, tmp_path):
    """A month an agency's payments or resources lost (between months holding some) is carried or estimated, and
    the report's limits say so: only the run log did (an outside tester, 7 December 2026)."""
    run = tmp_path / "run"
    for sub in ("detection/2026-06", "rules", "workspace/reports", FOLDER):
        shutil.copytree(demo_run / sub, run / sub)
    path = run / "detection" / "2026-06" / "summary.json"
    summary = json.loads(path.read_text())
    assert summary["payment_months_lost"] == {} and summary["resource_months_estimated"] == {}  # the demo's
    summary.update(payment_months_lost={"caf": ["2026-05"]}, resource_months_estimated={"drm": ["2026-03", "2026-04"]})
    path.write_text(json.dumps(summary))
    limits = [li.get_text() for li in BeautifulSoup(build_report(run, MONTH), "html.parser").find_all("li")]
    assert any(t.startswith("CAF : aucun versement transmis pour mai 2026, entre des mois qui en ont") for t in limits)
    assert any(t.startswith("DRM de l'Assurance retraite : aucune ressource transmise pour mars 2026, avril 2026")
               for t in limits), limits
