"""The rule engine: a plan of named steps built from the rules' IR, lowered to Polars (default) or to SQL
text run on DuckDB or, with the optional extra ``spark``, on Spark; with explanations.

    from nonrecours.engine import Inputs, evaluate
    result = evaluate(["rsa"], Inputs(individu=ind, individu_monthly=monthly), dt.date(2025, 3, 1))
    result["famille"]                 # id, rules, condition columns
    print(result.explain("famille", some_famille_id))

``round_columns(frame, 2)``: amounts rounded to the cent as the rules' ``round_`` rounds (``simulate``'s output).
"""

from nonrecours.engine.evaluate import (
    ALL_BACKENDS,
    BACKENDS,
    OPTIONAL_BACKENDS,
    Result,
    amounts_to_the_cent,
    check_backend,
    evaluate,
    inputs_read,
    required_inputs,
)
from nonrecours.engine.inputs import Inputs
from nonrecours.engine.polars_backend import round_columns

__all__ = ["ALL_BACKENDS", "BACKENDS", "OPTIONAL_BACKENDS", "Inputs", "Result", "amounts_to_the_cent",
           "check_backend", "evaluate", "inputs_read", "required_inputs", "round_columns"]
