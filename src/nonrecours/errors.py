"""One exception tree for the whole library.

Every error names *where* (file, row, column, rule, step) and never *what* an identifier is: messages
must be safe to log. Callers catch ``NonRecoursError`` or one of its children.
"""

from __future__ import annotations

__all__ = [
    "AuditError",
    "ConfigError",
    "ConnectorError",
    "ControlError",
    "EmptyExtractError",
    "EngineError",
    "ExtractError",
    "KeyMaterialError",
    "NonRecoursError",
    "NotInForceError",
    "NotModelledError",
    "ParameterError",
    "PrivacyError",
    "RuleError",
    "RunConflictError",
    "SchemaError",
    "SituationError",
    "UnsupportedConstructError",
]


def _rebuilt(cls: type[BaseException], args: tuple[object, ...], state: dict[str, object]) -> BaseException:
    err = cls.__new__(cls)
    err.args = args
    err.__dict__.update(state)
    return err


class NonRecoursError(Exception):
    """Root of every error raised on purpose by nonrecours."""

    def __reduce__(self) -> tuple[object, ...]:
        """Pickled with its message and attributes, not through ``__init__`` (pickle passes no keyword-only
        argument: ``ExtractError`` could not be rebuilt, ``SchemaError`` lost its table and column): an error
        raised in a part's child process (``nonrecours.isolate``) is raised in the run as it was."""
        return (_rebuilt, (type(self), self.args, dict(self.__dict__)))


class SchemaError(NonRecoursError, ValueError):
    """A table or a row breaks a canonical contract.

    ``table``, ``column`` and ``row`` (0-based row index in the checked frame, when known) locate the
    fault; the message never quotes the offending value when the column may hold an identifier.
    """

    def __init__(self, message: str, *, table: str | None = None, column: str | None = None,
                 row: int | None = None) -> None:
        self.table, self.column, self.row = table, column, row
        where = ", ".join(
            part for part in (
                f"table {table}" if table else "",
                f"row {row}" if row is not None else "",
                f"column {column}" if column else "",
            ) if part
        )
        super().__init__(f"{where}: {message}" if where else message)


class ConfigError(NonRecoursError, ValueError):
    """A run configuration, exchange agreement or mapping is invalid."""


class ConnectorError(NonRecoursError):
    """An agency extract cannot be read at all (wrong encoding, missing column, empty file...)."""


class ExtractError(ConnectorError, ValueError):
    """A located fault in an extract: names the file, the line and the column."""

    def __init__(self, message: str, *, file: str, line: int | None = None,
                 column: str | None = None) -> None:
        self.file, self.line, self.column = file, line, column
        where = f"{file}"
        if line is not None:
            where += f", line {line}"
        if column:
            where += f", column {column}"
        super().__init__(f"{where}: {message}")


class EmptyExtractError(ExtractError):
    """An extract holding no record (a header, and a trailer, only): refused unless the run allows it, since for
    an agency with many people it is most likely a failed export, and accepting it would replace the previous
    extract's rows with nothing."""


class PrivacyError(NonRecoursError):
    """A privacy guarantee would be broken (unlisted column, raw identifier past the boundary...)."""


class KeyMaterialError(PrivacyError, KeyError):
    """A key is missing, unreadable or too short. Never carries the key itself."""

    def __str__(self) -> str:  # KeyError quotes its argument; keep the message readable.
        return str(self.args[0]) if self.args else "key material error"


class RuleError(NonRecoursError):
    """A rule is malformed (wrong entity, unknown variable, cycle...)."""


class ParameterError(RuleError, ValueError):
    """A dated parameter is missing for a month, malformed, or changes in the middle of a month."""


class NotInForceError(ParameterError):
    """No law in force for a month: a parameter without a value then, or a rule without a dated formula."""


class NotModelledError(NotInForceError):
    """A benefit is asked for a month before the earliest law it encodes (its own month or a reference
    month its rules read). Names the benefit and the earliest month it models; ``earliest`` is None when
    no later month is modelled either."""

    def __init__(self, message: str, *, benefit: str, month: object, earliest: object) -> None:
        self.benefit, self.month, self.earliest = benefit, month, earliest
        super().__init__(message)


class EngineError(NonRecoursError):
    """An engine failed to evaluate a plan."""


class UnsupportedConstructError(EngineError, NotImplementedError):
    """An IR construct has no lowering for the named backend: raised, never warned."""


class SituationError(NonRecoursError, ValueError):
    """A household situation (simulate input) is malformed; names the situation id and the field."""

    def __init__(self, message: str, *, situation_id: str | None = None, field: str | None = None) -> None:
        self.situation_id, self.field = situation_id, field
        where = ", ".join(p for p in (
            f"situation {situation_id}" if situation_id else "", f"field {field}" if field else "") if p)
        super().__init__(f"{where}: {message}" if where else message)


class ControlError(NonRecoursError):
    """A run's control failed (a trailer's record count differs from the rows read, a stage's row counts
    do not add up): the outputs would not be trustworthy."""


class RunConflictError(ConfigError):
    """The output folder holds another run's outputs (another configuration): runs are never mixed."""


class AuditError(NonRecoursError):
    """The audit trail is broken: a log entry edited, removed, reordered or truncated, or an output whose
    hash differs from the manifest's. Names the entry or the file, never a value."""
