"""nonrecours: find people probably entitled to a benefit who do not receive it.

The public surface is small on purpose; sub-packages expose their own ``__all__``.
"""

from nonrecours.errors import NonRecoursError, SchemaError

__version__ = "0.1.0"
__all__ = ["NonRecoursError", "SchemaError", "__version__"]
