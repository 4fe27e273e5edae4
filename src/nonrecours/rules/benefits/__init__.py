"""The benefits, one module each, written as dated rules over entity proxies.

Importing this package registers every rule in the default registry (the engine reads them by name):
``common`` (household, housing), ``prestations_familiales`` (family benefits counted as resources),
``aah`` (the disability allowance, modelled only as a resource of the others), then ``rsa``, ``ppa``,
``aspa``, ``css`` and ``aide_logement`` (housing aid, which the others read when the aid paid is unknown).
Output rules per famille: ``rsa``, ``ppa``, ``aspa``, ``css_free``, ``css_participation``,
``css_participation_monthly``, ``aide_logement``.
"""

from nonrecours.rules.benefits import (  # noqa: F401  (imported for their registrations)
    aah,
    aide_logement,
    asi,
    aspa,
    common,
    css,
    ppa,
    prestations_familiales,
    rsa,
)
from nonrecours.rules.registry import default_registry

OUTPUTS: tuple[str, ...] = ("rsa", "ppa", "aspa", "css_free", "css_participation", "css_participation_monthly",
                             "aide_logement")
"""The target benefits: the famille rules detection, the demo, the extracts' take-up draw, ``simulate``
and the oracle comparison report. The one list; everything else derives from it."""

AMOUNT_OUTPUTS: tuple[str, ...] = tuple(o for o in OUTPUTS if default_registry().dtype_of(o) == "float")
"""Targets that are monthly amounts in euros (the others are booleans: entitlement flags)."""
FLAG_OUTPUTS: tuple[str, ...] = tuple(o for o in OUTPUTS if default_registry().dtype_of(o) == "bool")

__all__ = ["AMOUNT_OUTPUTS", "FLAG_OUTPUTS", "OUTPUTS"]
