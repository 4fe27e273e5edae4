"""The SQL lowering run on Spark (local mode) gives exactly Polars' results.

One Spark session for the whole test session (starting a JVM costs seconds). Spark must be usable where the
tests run: without PySpark or Java the tests fail with the remedy, they are never skipped.
"""

from __future__ import annotations

import json

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from tests.oracle.environment import REFERENCE_CASES

from nonrecours.engine import spark_backend as sb
from nonrecours.engine.plan import MONTH_START
from nonrecours.engine.polars_backend import ZERO, lower_polars
from nonrecours.engine.sql_backend import lower_sql
from nonrecours.errors import EngineError
from nonrecours.rules.ir import Cast, Col, Func

CASES = REFERENCE_CASES
SPARK_MONTHS = ("2025-03", "2025-04")
"""The months of the public cases the simulate test runs on Spark (see the test)."""
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("spark")]  # one JVM under pytest -n


@pytest.fixture(scope="session")
def spark():  # type: ignore[no-untyped-def]
    try:
        return sb.spark_session()
    except EngineError as exc:  # no PySpark or no Java: a failure naming the remedy, never a skip
        pytest.fail(f"Spark is required by these tests: {exc}")


def test_missing_java_is_a_clear_error(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sb, "_SESSION", None)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(EngineError, match=r"no Java runtime found.*default-jre-headless"):
        sb.spark_session()


def test_check_backend_names_the_extra_when_pyspark_is_missing(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import sys

    from nonrecours.engine import check_backend

    check_backend("spark")  # PySpark and Java are installed where the tests run
    monkeypatch.setitem(sys.modules, "pyspark", None)  # import fails as if not installed
    with pytest.raises(EngineError, match=r"PySpark is not installed.*nonrecours\[spark\].*default-jre-headless"):
        check_backend("spark")
    with pytest.raises(EngineError, match=r"unknown backend 'sprak'.*polars, duckdb, spark"):
        check_backend("sprak")


def test_truncation_floor_ceil_round_match_polars(spark) -> None:  # type: ignore[no-untyped-def]
    """Spark's TRUNC is a date function and its FLOOR/CEIL return BIGINT: the Spark lowering differs there."""
    values = [-2.7, -2.5, -0.5, -0.0, 0.49999, 0.5, 2.5, 2.675, 1234.005, 7.0]
    exprs = {"trunc": Cast(Col("famille", "x"), "int"), "floor": Func("floor", (Col("famille", "x"),)),
             "ceil": Func("ceil", (Col("famille", "x"),)), "round2": Func("round", (Col("famille", "x"),), digits=2)}
    df = pl.DataFrame({"x": values, ZERO: [0.0] * len(values)})  # the zero column run_polars adds (divisors)
    want = df.select(**{k: lower_polars(e, {"x": "float"}) for k, e in exprs.items()})
    rows = ", ".join(f"({v!r})" for v in values)  # test literals only
    sel = ", ".join(f"{lower_sql(e, {'x': 'float'}, dialect='spark')} AS {k}"
                    for k, e in exprs.items())
    got = spark.sql(f"SELECT {sel} FROM VALUES {rows} AS t(x)").collect()
    for k in exprs:
        assert [r[k] for r in got] == want[k].to_list(), k
    assert dict(spark.sql(f"SELECT {sel} FROM VALUES (1.5) AS t(x)").dtypes) == {
        "trunc": "bigint", "floor": "double", "ceil": "double", "round2": "double"}


def test_simulate_on_spark_equals_polars(spark, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """``nonrecours simulate --backend spark`` on public cases of two months in one file: they go through the
    vectorised path (one engine call, each situation at its own month) and give Polars' records; and that one
    Spark evaluation (the cost is the plan, about 1,400 steps, not the rows: one run serves both checks) gives
    every simulate output and its intermediate columns, every entity, as Polars does.

    The months (:data:`SPARK_MONTHS`) are planned together, the RSA's April revaluation between them: one plan
    whose parameters that change between the months are columns. Two months of different laws would cost two
    plans on Spark (twice this test's time) for no construct more: measured when these months were chosen,
    this plan holds every kind of IR node, function, cast, aggregate and dtype that the plans of April 2024 and
    April 2026 (the months used before) hold together, plus the month-varying parameters they had none of."""
    from typer.testing import CliRunner

    from nonrecours.cli import app
    from nonrecours.rules.benefits import OUTPUTS
    from nonrecours.simulation import runner as simulation_runner
    from nonrecours.simulation.situations import read_situation_file

    if not CASES.exists():
        pytest.fail(f"reference cases not found at {CASES}: the checkout must sit beside shared/")
    cases = read_situation_file(json.loads(CASES.read_text(encoding="utf-8")))
    picked = [c for m in SPARK_MONTHS for c in [c for c in cases if str(c["month"]) == m][:20]]
    assert {str(c["month"]) for c in picked} == set(SPARK_MONTHS) and len(picked) > 20
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(picked), encoding="utf-8")
    results: dict[str, object] = {}
    evaluate_ = simulation_runner.evaluate

    def recorded(*args, **kwargs):  # type: ignore[no-untyped-def]
        results[kwargs["backend"]] = res = evaluate_(*args, **kwargs)
        return res

    monkeypatch.setattr(simulation_runner, "evaluate", recorded)
    runner = CliRunner()
    want = runner.invoke(app, ["simulate", str(path), "--backend", "polars"])
    got = runner.invoke(app, ["simulate", str(path), "--backend", "spark"])
    assert got.exit_code == want.exit_code == 0, got.output
    want_rows, got_rows = json.loads(want.stdout), json.loads(got.stdout)
    assert len(got_rows) == len(picked) and [r["id"] for r in got_rows] == [r["id"] for r in want_rows]
    for w, g in zip(want_rows, got_rows, strict=True):
        assert g.keys() == w.keys()
        for k, v in w.items():
            assert g[k] == pytest.approx(v, abs=1e-6) if isinstance(v, float) else g[k] == v, (w["id"], k)
    assert any(r["rsa"] > 0 for r in want_rows) or any(r["aspa"] > 0 for r in want_rows)
    # the engine call behind both commands: every frame, intermediate columns included
    assert set(results) == {"polars", "spark"}
    plan = results["spark"].plan  # type: ignore[attr-defined]
    assert len(plan.months) == 2 and any(s.param != MONTH_START for s in plan.month_inputs())
    frames_want, frames_got = results["polars"].frames, results["spark"].frames  # type: ignore[attr-defined]
    assert set(frames_got) == set(frames_want) and frames_want["individu"].height > 20
    # every engine target but those detection alone reads (the AAH an ASPA claim would replace: ``_aah`` and
    # ``aah_aspa_deduite`` of the AAH simulated, summed over the members as ``aah_famille``; the PPA's forfait
    # logement at the month, which its flag's reasons read), named so that a target simulate stops computing fails
    # here
    assert set(OUTPUTS) - {c for f in frames_want.values() for c in f.columns} == {
        "aah_remplacee_par_aspa", "aah_remplacee_par_asi", "ppa_forfait_logement", "ppa_forfait_logement_plein"}
    for entity, frame in frames_want.items():
        assert frames_got[entity].schema == frame.schema, entity
        # floats to the last few bits (a product like 0.32 x BMAF rounds differently in the JVM and in Rust),
        # everything else exactly
        assert_frame_equal(frames_got[entity], frame, check_exact=False, rel_tol=0, abs_tol=1e-9)
    assert frames_want["famille"]["rsa"].sum() > 0  # the sample pays something
