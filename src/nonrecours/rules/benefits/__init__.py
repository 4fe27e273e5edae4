"""The benefits, one module each, written as dated rules over entity proxies.

Importing this package registers every rule in the default registry (the engine reads them by name):
``common`` (household, housing), ``prestations_familiales`` (family benefits counted as resources),
``aah`` (the disability allowance, modelled only as a resource of the others), then ``rsa``, ``ppa``,
``aspa`` and ``css``. Output rules per famille: ``rsa``, ``ppa``, ``aspa``, ``css_free``,
``css_participation``, ``css_participation_monthly``.
"""

from nonrecours.rules.benefits import (  # noqa: F401  (imported for their registrations)
    aah,
    asi,
    aspa,
    common,
    css,
    ppa,
    prestations_familiales,
    rsa,
)

OUTPUTS: tuple[str, ...] = ("rsa", "ppa", "aspa", "css_free", "css_participation", "css_participation_monthly")
"""The famille rules the ``simulate`` command reports."""

__all__ = ["OUTPUTS"]
