"""The SQL lowering run on Apache Spark (PySpark, local mode or a cluster): the same plan, stages and statements
as DuckDB (:mod:`nonrecours.engine.sql_backend`), written for ``dialect="spark"``.

Data never enters SQL text: frames go to Spark as Parquet files in a private temporary folder and are
registered as temporary views under internal names; each stage's narrow table is written as Parquet and read
back (so Spark's lineage, and the planning cost of a stage, never grows with the plan); results come back
the same way. PySpark is an optional extra (``pip install 'nonrecours[spark]'``) and needs a Java runtime
(17 or later).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from typing import Any

import polars as pl

from nonrecours.engine.plan import Plan
from nonrecours.engine.sql_backend import _col, _quoted, _Runner
from nonrecours.errors import EngineError

__all__ = ["SPARK_DEFAULTS", "require_spark", "run_spark", "spark_session"]

BACKEND = "spark"
SPARK_DEFAULTS: dict[str, str] = {
    "spark.master": "local[2]",
    "spark.app.name": "nonrecours",
    "spark.ui.enabled": "false",
    "spark.sql.caseSensitive": "true",  # rule names are case-sensitive
    "spark.sql.session.timeZone": "UTC",  # dates are calendar dates, never shifted
    "spark.sql.shuffle.partitions": "4",
    "spark.driver.memory": "2g",
    "spark.ui.showConsoleProgress": "false",
    # A stage's statement nests one SELECT per dependency depth with up to a few hundred columns: the
    # analyser recurses deeply (a larger thread stack). Whole-stage code generation of such a statement
    # exceeds the JVM's 64 KB method limit (Spark then compiles, fails, logs and falls back, which costs
    # minutes): it is off, each expression is still compiled on its own.
    "spark.driver.extraJavaOptions": "-Xss64m",
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
    "spark.sql.optimizer.excludedRules": "org.apache.spark.sql.catalyst.optimizer.CollapseProject",
}
"""Settings of the session :func:`spark_session` creates (``config`` entries override them)."""

_LOCK = threading.Lock()
_SESSION: Any = None


INSTALL_PYSPARK = "pip install 'nonrecours[spark]'"
INSTALL_JAVA = "apt-get install default-jre-headless"


def require_spark() -> None:
    """Check, without starting a JVM, that this machine can run Spark: PySpark importable and a Java runtime
    (``JAVA_HOME`` or ``java`` on the path). Raises :class:`EngineError` naming what to install."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise EngineError(f"spark: PySpark is not installed; install the optional extra: {INSTALL_PYSPARK} "
                          f"(Spark also needs Java 17 or later, e.g. {INSTALL_JAVA})") from None
    java_home = os.environ.get("JAVA_HOME")
    has_java = (java_home and os.path.exists(os.path.join(java_home, "bin", "java"))) or shutil.which("java")
    if not has_java:
        raise EngineError("spark: no Java runtime found (no java on PATH, no JAVA_HOME); Spark needs Java 17 "
                          f"or later, e.g. {INSTALL_JAVA} (Debian package default-jre-headless)")


def spark_session(config: dict[str, str] | None = None) -> Any:
    """The process's Spark session, created on first use with :data:`SPARK_DEFAULTS` (plus ``config``).

    Raises :class:`EngineError` with the remedy when PySpark or Java is missing."""
    global _SESSION
    with _LOCK:
        if _SESSION is not None:
            return _SESSION
        require_spark()
        from pyspark.sql import SparkSession

        builder = SparkSession.builder
        for k, v in {**SPARK_DEFAULTS, **(config or {})}.items():
            builder = builder.config(k, v)
        try:
            session = builder.getOrCreate()
        except Exception as exc:  # the JVM failed to start: its message says why (no data in it)
            raise EngineError(f"spark: the session could not start: {type(exc).__name__}: {exc}") from exc
        session.sparkContext.setLogLevel("ERROR")
        _SESSION = session
        return session


class _SparkRunner(_Runner):
    """The DuckDB runner's plan walk with Spark's storage: Parquet files as tables (see the module doc)."""

    dialect = "spark"
    backend = BACKEND
    aligned = False  # one Parquet table per stage, gathered by joins on the id

    def _connect(self, config: dict[str, Any] | None) -> None:
        cfg = dict(config or {})
        self.tmp = str(cfg.pop("temp_directory", tempfile.gettempdir()))
        # a session of its own per run: temporary views are private to it, the JVM and its context shared
        self.spark = spark_session({k: str(v) for k, v in cfg.items()}).newSession()
        self.folder = tempfile.mkdtemp(prefix="nonrecours-spark-", dir=self.tmp)
        self.views: list[str] = []

    def _path(self, name: str) -> str:
        return os.path.join(self.folder, f"{name}.parquet")

    def _register(self, name: str) -> None:
        self.spark.read.parquet(self._path(name)).createOrReplaceTempView(name)
        self.views.append(name)

    def _load(self, name: str, df: pl.DataFrame) -> None:
        df.write_parquet(self._path(name))
        self._register(name)

    def _sql(self, q: str, what: str) -> Any:
        try:
            return self.spark.sql(q)
        except Exception as exc:  # analysis errors quote column (rule) names, never data
            raise EngineError(f"{BACKEND}: {what} failed: {type(exc).__name__}") from exc

    def _write(self, df: Any, path: str, what: str) -> None:
        try:
            df.write.mode("overwrite").parquet(path)
        except Exception as exc:
            raise EngineError(f"{BACKEND}: {what} failed: {type(exc).__name__}") from exc

    def _materialise(self, name: str, q: str, what: str) -> None:
        self._write(self._sql(q, what), self._path(name), what)
        self._register(name)

    def _result(self, name: str, cols: list[str], what: str) -> pl.DataFrame:
        q = f"SELECT {', '.join(_col(c, dialect=self.dialect) for c in cols)} FROM {_quoted(name, self.dialect)}"
        path = os.path.join(self.folder, f"export_{name}")
        self._write(self._sql(q, what), path, what)
        return pl.read_parquet(os.path.join(path, "*.parquet"))

    def _close(self) -> None:
        for name in self.views:
            self.spark.catalog.dropTempView(name)
        shutil.rmtree(self.folder, ignore_errors=True)


def run_spark(plan: Plan, frames: dict[str, pl.DataFrame],
              config: dict[str, Any] | None = None) -> dict[str, pl.DataFrame]:
    """Compute every step of ``plan`` on Spark. ``config``: Spark settings for the session when this call
    creates it (``spark.master``, ``spark.driver.memory``...), and ``temp_directory`` for the exchange files."""
    runner = _SparkRunner(plan, frames, config)
    try:
        return runner.run()
    finally:
        shutil.rmtree(runner.folder, ignore_errors=True)
