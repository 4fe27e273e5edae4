"""The benefits, one module each, written as dated rules over entity proxies.

Importing this package registers every rule in the default registry (the engine reads them by name):
``common`` (household, housing), ``prestations_familiales`` (family benefits counted as resources),
``aah`` (the disability allowance, modelled only as a resource of the others), then ``rsa``, ``ppa``,
``aspa``, ``css``, ``aide_logement`` (housing aid, which the others read when the aid paid is unknown), ``ars``,
``revenu_fiscal`` and ``cheque_energie``. Output rules per famille: ``rsa``, ``ppa``, ``aspa``, ``css_free``,
``css_participation``, ``css_participation_monthly`` (the targets), and for ``simulate`` also the housing aid,
the AAH, ASI, allocations familiales, ARS and chèque énergie (``SIMULATED_RULES``).
"""

from nonrecours.rules.benefits import (  # noqa: F401  (imported for their registrations)
    aah,
    aide_logement,
    ars,
    asf,
    asi,
    aspa,
    cheque_energie,
    common,
    css,
    paje,
    ppa,
    prestations_familiales,
    revenu_fiscal,
    rsa,
)
from nonrecours.rules.registry import default_registry
from nonrecours.schemas.benefits import CATALOGUE, ENGINE_TARGETS

OUTPUTS: tuple[str, ...] = ENGINE_TARGETS
"""The target rules: the famille rules detection, the demo, the extracts' take-up draw, ``simulate`` and the
oracle comparison report read, derived from the benefit catalogue (schemas.benefits)."""

SIMULATED_RULES: dict[str, str] = {
    field: rule
    for b in CATALOGUE if b.simulated
    for field, rule in ((b.simulate_field or b.code, b.rule), *(((b.amount_rule, b.amount_rule),) if b.amount_rule
                                                               else ()))}
"""``simulate`` output field -> famille rule (SITUATION_FORMAT.md), from the catalogue: the first four benefits,
then the housing aid, the famille's AAH, the ASI, the allocations familiales due, the yearly ARS and chèque
énergie. Their names differ where an input holds the amount paid (``af``) or the amount is yearly."""
SIMULATED_OUTPUTS: tuple[str, ...] = tuple(SIMULATED_RULES)

AMOUNT_OUTPUTS: tuple[str, ...] = tuple(o for o in OUTPUTS if default_registry().dtype_of(o) == "float")
"""Targets that are monthly amounts in euros (the others are booleans: entitlement flags)."""
FLAG_OUTPUTS: tuple[str, ...] = tuple(o for o in OUTPUTS if default_registry().dtype_of(o) == "bool")

SIMULATED_AMOUNTS: tuple[str, ...] = tuple(
    f for f, r in SIMULATED_RULES.items() if default_registry().dtype_of(r) == "float")
SIMULATED_FLAGS: tuple[str, ...] = tuple(
    f for f, r in SIMULATED_RULES.items() if default_registry().dtype_of(r) == "bool")

__all__ = ["AMOUNT_OUTPUTS", "FLAG_OUTPUTS", "OUTPUTS", "SIMULATED_AMOUNTS", "SIMULATED_FLAGS", "SIMULATED_OUTPUTS",
           "SIMULATED_RULES"]
