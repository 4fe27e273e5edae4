"""Labelling a synthetic truth's entitlement with OpenFisca-France: households per second, beside our rules.

Run: ``PYTHONPATH=src python benchmarks/openfisca_truth_bench.py [--persons 5000] [--months 1]
[--batch 5000] [--oracle-python PATH] [--out benchmarks/results/openfisca_truth.json]``.

Generates a truth (``nonrecours.synth``, seed 1), then labels the last ``--months`` months twice: with our
rules (``entitlements_from_rules``) and with OpenFisca-France 176.1.8 through the oracle subprocess
(``entitlements_from_openfisca``: export, one vectorised simulation per batch of ``--batch`` ménages, read
back), timed end to end and the oracle's calls alone (loading the tax-benefit system apart). The agreement of
the two labellings is recorded with the first disagreements.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests/oracle: the oracle environment lives outside the package (AGPL)

from nonrecours.simulation.openfisca_process import OPENFISCA_FRANCE, open_oracle  # noqa: E402
from nonrecours.synth import DEFAULT_END_MONTH, generate, tax_window  # noqa: E402
from nonrecours.synth.extracts import (  # noqa: E402
    compare_entitlements,
    entitlements_from_openfisca,
    entitlements_from_rules,
    familles_evaluated,
)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--months", type=int, default=1, help="months labelled, ending at the truth's last")
    ap.add_argument("--batch", type=int, default=5000, help="ménages per OpenFisca simulation")
    ap.add_argument("--oracle-workers", type=int, default=1, help="OpenFisca processes computing each batch")
    ap.add_argument("--oracle-python", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "openfisca_truth.json")
    args = ap.parse_args()
    python = args.oracle_python
    if python is None:
        from tests.oracle.environment import ensure_oracle

        python = ensure_oracle()
    end = DEFAULT_END_MONTH
    months = [dt.date(end.year + (end.month - 1 - k) // 12, (end.month - 1 - k) % 12 + 1, 1)
              for k in range(args.months - 1, -1, -1)]
    with tempfile.TemporaryDirectory() as tmp:
        generate(args.persons, args.seed, tmp, months=tax_window(end))
        truth = Path(tmp) / "truth"
        t0 = time.perf_counter()
        ours = entitlements_from_rules(truth, months)
        rules_s = time.perf_counter() - t0
        with open_oracle(python, workers=args.oracle_workers) as oracle:
            t0 = time.perf_counter()
            theirs = entitlements_from_openfisca(truth, months, oracle, batch_households=args.batch)
            total_s = time.perf_counter() - t0
        agreement = compare_entitlements(ours, theirs, evaluated=familles_evaluated(truth, months))
    agreement["disagreements"] = agreement["disagreements"][:30]
    run = {"persons": args.persons, "seed": args.seed, "months": [f"{m:%Y-%m}" for m in months],
           "batch_households": args.batch, "workers": args.oracle_workers, "households": oracle.households,
           "openfisca": {"load_s": round(oracle.load_seconds, 1), "oracle_s": round(oracle.seconds, 1),
                         "total_s": round(total_s, 1),
                         "households_per_s_oracle": round(oracle.households / oracle.seconds, 1),
                         "households_per_s_total": round(oracle.households / total_s, 1)},
           "rules": {"total_s": round(rules_s, 1), "households_per_s": round(oracle.households / rules_s, 1)},
           "label_agreement": agreement}
    data = json.loads(args.out.read_text(encoding="utf-8")) if args.out.exists() else {
        "benchmark": "a synthetic truth labelled by OpenFisca-France (benchmarks/openfisca_truth_bench.py)",
        "oracle": f"openfisca-france {OPENFISCA_FRANCE}", "runs": []}
    data["date"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    data["machine"] = {"cpus": os.cpu_count(), "load_average_1min": round(os.getloadavg()[0], 2),
                       "python": platform.python_version()}
    data["runs"].append(run)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    o = run["openfisca"]
    n = agreement["unit_months_evaluated"]
    print(f"{run['households']:,} households x months: OpenFisca {o['total_s']} s ({o['households_per_s_total']}/s, "
          f"oracle alone {o['households_per_s_oracle']}/s, loading {o['load_s']} s); rules {run['rules']['total_s']} s;"
          f" agreement {n - agreement['disagree']}/{n} famille-months ({agreement['rate']})")


if __name__ == "__main__":
    main()
