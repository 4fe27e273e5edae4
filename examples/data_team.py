# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # A data team's session with `nonrecours`
#
# The batch job (`nonrecours run run.toml`) ingests the agencies' extracts, detects non-take-up and writes the
# outreach lists. This notebook is what the team does next, by hand, on the job's run folder:
#
# 1. load the **workspace** (the pseudonymised canonical tables ingest wrote);
# 2. look at the **quarantine**: which rows the agencies sent that could not be used, and why;
# 3. run **detection** for one month, in memory, to look inside it;
# 4. **explain** three flagged people: why the rules find them entitled, from which agency's data;
# 5. plot **non-take-up rates by commune**, as they may be published (statistical secrecy applied);
# 6. **open an outreach list** as the agency that will contact the people, with that agency's own key.
#
# Only the package's public API is used (each sub-package's `__all__`), and only pseudonyms are shown, never a
# NIR or a name: the workspace holds none.
#
# This notebook is paired with `data_team.py` (jupytext, percent format): edit either, then
# `jupytext --sync examples/data_team.ipynb`. CI executes it on a small territory (`tests/test_examples.py`).

# %%
import datetime as dt
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import polars as pl

from nonrecours import audit, core, detection, outputs, privacy, synth
from nonrecours.demo import run_demo
from nonrecours.errors import PrivacyError

# %% [markdown]
# ## Parameters
#
# `RUN` is the run folder of a batch job. With no run folder given, the notebook builds one: the synthetic
# Cahors territory of `nonrecours demo` (the real job on synthetic extracts), at `PERSONS` persons. The
# environment variables let CI choose a small territory and a temporary folder without editing the notebook;
# papermill users can override this cell (it is tagged `parameters`).

# %% tags=["parameters"]
PERSONS = int(os.environ.get("NONRECOURS_EXAMPLE_PERSONS", "5000"))
SEED = int(os.environ.get("NONRECOURS_EXAMPLE_SEED", "1"))
TERRITORY = "cahors"
WORKDIR = Path(os.environ.get("NONRECOURS_EXAMPLE_DIR") or tempfile.mkdtemp(prefix="nonrecours-notebook-"))
RUN = Path(os.environ.get("NONRECOURS_EXAMPLE_RUN") or WORKDIR / "run")

# %%
pl.Config.set_tbl_rows(30)
pl.Config.set_fmt_str_lengths(120)


def handle(pseudonym: str) -> str:
    """A short handle for a pseudonym, enough to tell people apart on screen (the full pseudonym stays in
    the tables; a NIR never reaches them)."""
    return pseudonym[:10] + "…"


# %% [markdown]
# ## 1. The run folder and its workspace
#
# When `RUN` holds no finished run (`manifest.json`), the synthetic job is run into it first (a minute at 20,000
# persons). Then everything below reads what the job wrote: the manifest (what was read, under which
# agreement, with which counts) and the workspace, opened lazily (`core.scan_workspace`: one scan per canonical
# table; nothing is loaded until a step asks).

# %%
if not (RUN / audit.MANIFEST).exists():
    demo = run_demo(RUN, persons=PERSONS, seed=SEED, territory=TERRITORY)
    print(f"synthetic run written to {RUN}: {len(demo.outputs)} files")

manifest = audit.read_manifest(RUN)
MONTH = dt.date.fromisoformat(manifest["config"]["months"][0] + "-01")
BACKEND = manifest["config"]["backend"]
print(f"exchange {manifest['agreement']['exchange_id']} for {manifest['agreement']['purpose']}; "
      f"months {manifest['config']['months']}; backend {BACKEND}")

tables = core.scan_workspace(RUN / "workspace")
pl.DataFrame([(name, lf.select(pl.len()).collect().item()) for name, lf in tables.items()],
             schema={"table": pl.String, "rows": pl.Int64}, orient="row")

# %% [markdown]
# ## 2. The quarantine
#
# Ingest never drops a row silently: a row it cannot use (a NIR that fails its check key, a missing NIR, a
# date that is not a date, a negative declared amount...) goes to `workspace/quarantine/`, one row per fault,
# with the file, line, record type, column and reason, never the value. Every extract satisfies
# **rows read = rows accepted + rows quarantined**; the manifest records the three counts per file. The
# quarantine is what goes back to each agency: its shares and reasons say where its extract needs fixing.

# %%
counts = pl.DataFrame([{"extract": key, **{k: v for k, v in q.items() if k.startswith("rows_")}}
                       for key, q in manifest["quarantine"].items()])
assert (counts["rows_read"] == counts["rows_accepted"] + counts["rows_quarantined"]).all()
counts.select("extract", "rows_read", "rows_accepted", "rows_quarantined",
              (pl.col("rows_quarantined") / pl.col("rows_read") * 100).round(2).alias("quarantined_%"))

# %%
quarantine = pl.read_parquet(str(RUN / "workspace" / "quarantine" / "*.parquet"))
(quarantine.group_by("file", "record", "column", "reason").len("faults")
 .sort(["file", "faults"], descending=[False, True]))

# %% [markdown]
# ## 3. Detection for one month
#
# The batch job has already written `detection/YYYY-MM/`; running it here, in memory, keeps the engine's
# result at hand for explanations. `detect_workspace` builds the month from the workspace as `nonrecours detect`
# does, with the layouts ingest recorded for each extract (units of the month, reference-period resources,
# payments, housing, and what no agency supplied: the *unknowns*); it then runs
# the rules on three variants of the unknowns (least favourable, central, most favourable), compares with what
# is paid, applies exclusions (a pending claim, a recent refusal, an opt-out) and grades each case:
# **certain** (entitled whatever the unknowns), **probable** (on the central values), **possible** (only on
# favourable values).

# %%
core_of_month, det = detection.detect_workspace(RUN / "workspace", MONTH, backend=BACKEND)
print(det)
print(f"{det.summary['persons']:,} persons in {det.summary['familles']:,} familles evaluated; "
      f"{det.summary['unknowns']['values']:,} values no agency supplied")
pl.DataFrame([{"benefit": b, **grades} for b, grades in det.summary["flags_by_benefit_grade"].items()])

# %%
det.units.group_by("benefit", "status").len().pivot("status", index="benefit", values="len").fill_null(0)

# %% [markdown]
# ## 4. Three flagged people, explained
#
# A flag is a famille (the CAF's unit) and a benefit; its claimant is a pseudonymous person. Here: the largest
# monthly amounts missing among certain or probable flags, one benefit each. For each, the flag's own reasons
# (plain French, computed in bulk for every flag: they go into the outreach letter), the unknowns that decide
# its grade, then the legal conditions as the engine evaluated them for that famille
# (`det.result.explain("famille", unit_id)` gives the full text: every intermediate value, parameter and input
# with its source).

# %%
picked = (det.flags.filter(pl.col("grade") != "possible")
          .sort(["amount_central", "unit_id", "benefit"], descending=[True, False, False])
          .unique("benefit", keep="first", maintain_order=True)
          .unique("claimant_id", keep="first", maintain_order=True)
          .head(3))
assert picked.height == 3, "fewer than three benefits with a certain or probable flag: use a larger territory"


def section(text: str, title: str) -> list[str]:
    """The lines of one section (``Conditions :``, ``Résultats :``...) of an engine explanation."""
    lines = text.splitlines()
    if title not in lines:  # a rule with no labelled condition of its own (e.g. an amount read from a scale)
        return ["  (aucune condition étiquetée dans cette règle)"]
    start = lines.index(title) + 1
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("  ")), len(lines))
    return lines[start:end]


for flag in picked.iter_rows(named=True):
    print(f"=== claimant {handle(flag['claimant_id'])} ({len(flag['adult_ids'])} adult(s)): {flag['benefit']}, "
          f"{flag['status']}, {flag['grade']}")
    print(f"estimate {flag['amount_low']:.2f} to {flag['amount_high']:.2f} EUR a month "
          f"(central {flag['amount_central']:.2f}); paid this month {flag['paid']:.2f}")
    for reason in flag["reasons"]:
        print("  -", reason)
    if flag["deciding_unknowns"]:
        print("  unknowns deciding the grade:", ", ".join(flag["deciding_unknowns"]))
    text = det.result.explain("famille", flag["unit_id"], targets=[flag["benefit"]])
    print(text.splitlines()[1])  # the famille's composition, by role
    print("Conditions :")
    print("\n".join(section(text, "Conditions :")))
    print()

# %% [markdown]
# ## 5. Non-take-up rates by commune
#
# `outputs.build_statistics` makes the table a team may publish: per benefit, territory level and household
# type, the non-take-up rate (non-take-up ÷ (non-take-up + paid)) with its range (low: certain flags only;
# central: certain and probable; high: every grade), under statistical secrecy (a cell of fewer than the
# threshold's units is suppressed, with the cells that would let it be recomputed). The chart shows the
# communes that survive secrecy; the others are counted in each title, not drawn.

# %%
members, residence = detection.core_units(core_of_month)
profiles = outputs.unit_profiles(members, residence, MONTH)
stats = outputs.build_statistics(det.units, profiles, outputs.territory_table(TERRITORY),
                                 config=outputs.StatisticsConfig(threshold=manifest["config"]["thresholds"]
                                                                 ["suppression"]))
names = synth.load_territory(TERRITORY).select(pl.col("depcom").alias("area"), "name")
communes = (stats.filter((pl.col("level") == "commune") & (pl.col("household_type") == "ensemble"))
            .join(names, on="area", how="left")
            .with_columns(pl.col("name").fill_null(pl.lit("commune inconnue"))))  # units no agency placed
shown = communes.filter(~pl.col("secret") & pl.col("non_take_up_rate_central").is_not_null())

benefits = [b for b in detection.BENEFITS if b in communes["benefit"].unique().to_list()]
fig, axes = plt.subplots(1, len(benefits), figsize=(4 * len(benefits), 7), sharex=True)
for ax, benefit in zip(axes, benefits, strict=True):
    rows = shown.filter(pl.col("benefit") == benefit).sort("non_take_up_rate_central")
    central = rows["non_take_up_rate_central"].to_numpy() * 100
    low, high = rows["non_take_up_rate_low"].to_numpy() * 100, rows["non_take_up_rate_high"].to_numpy() * 100
    ax.barh(rows["name"].to_list(), central, xerr=[central - low, high - central], color="tab:blue",
            ecolor="grey", capsize=2)
    hidden = communes.filter((pl.col("benefit") == benefit) & pl.col("secret")).height
    ax.set_title(f"{benefit}\n{rows.height} communes shown, {hidden} under secrecy", fontsize=10)
    ax.set_xlabel("non-take-up rate (%)")
    ax.tick_params(axis="y", labelsize=7)
fig.suptitle(f"Non-take-up by commune, {MONTH:%Y-%m} (central estimate, bars: low to high)")
fig.tight_layout()
plt.show()

# %%
# A coverage (the CSS) has no amount foregone and the chèque énergie's payments are unknown: their cells are
# empty, and a sum of empty cells stays empty (Polars' `sum` would print 0 €)
foregone = pl.col("monthly_foregone_central")
(shown.group_by("benefit").agg(pl.len().alias("communes_shown"),
                               pl.col("non_take_up_rate_central").median().alias("median_rate"),
                               pl.when(foregone.is_not_null().any()).then(foregone.sum().round(0))
                               .alias("monthly_foregone_eur"))
 .sort("benefit"))

# %% [markdown]
# ## 6. Opening an outreach list with the agency's key
#
# The job's outputs stage wrote one outreach list per contacting agency (`outputs/YYYY-MM/outreach_<agency>`):
# one row per person, what they may get, why, the facts already held (not to ask again), the questions left.
# The list carries no pseudonym and no NIR: a person is reached through a **return token** that only the
# contacting agency can open, with its own secret, back into its own record number
# (`nonrecours outreach open LIST --agency caf --key KEYFILE` does the same from a shell).
#
# The CAF's secret is the CAF's, never the data team's: in production `CAF_KEY_FILE` points at the file the
# CAF keeps. For the synthetic run, the demo wrote one per agency (`keys/<agency>-return.key`, mode 600),
# standing in for the agencies' own. A row with
# `has_record` false has no token: the lead agency has no record of the person (or ingest issued no token for
# it), so the agency contacts them as a new claimant.

# %%
CAF_KEY_FILE = Path(os.environ.get("NONRECOURS_EXAMPLE_CAF_KEY") or RUN / "keys" / "caf-return.key")

agreement = privacy.load_agreement(RUN / "exchange.toml")
caf_key = privacy.derive_return_key(privacy.load_secret(CAF_KEY_FILE), "caf", agreement.exchange_id,
                                    agreement.purpose)
caf_list = RUN / "outputs" / f"{MONTH:%Y-%m}" / "outreach_caf.parquet"
opened = outputs.open_outreach(caf_list, caf_key)
print(f"{opened.height} people for the CAF to contact; {opened['has_record'].sum()} with a CAF record, "
      f"{opened['record_id'].is_not_null().sum()} record numbers opened")
if not (RUN / "workspace" / "return_tokens").is_dir():
    print("this workspace holds no return_tokens table (issued at each agency's ingest): no row can be opened "
          "into a record number, and every row says has_record = false")
opened.select("record_id", "has_record", "lead_benefit", "grade", "amount_low", "amount_central", "amount_high",
              "priority").head(10)

# %%
first = opened.row(0, named=True)
for title in ("detail", "reasons", "known_facts", "questions", "channels"):
    print(f"{title}:")
    for line in first[title]:
        print("  -", line)

# %% [markdown]
# Another agency's key does not open the CAF's list: the refusal names the file, never a token or a record.

# %%
cnam_key_file = RUN / "keys" / "cnam-return.key"
cnam_key = privacy.derive_return_key(privacy.load_secret(cnam_key_file), "cnam", agreement.exchange_id,
                                     agreement.purpose)
try:
    outputs.open_outreach(caf_list, cnam_key)
    raise AssertionError("the CNAM's key opened the CAF's list")
except PrivacyError as refused:
    print("refused:", refused)
