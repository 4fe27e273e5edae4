"""Audit trail of a run folder: the manifest (what was read, how, what was written), the append-only log
chained by HMAC (runs, exchanges, purges), and the checks (``verify_run``, retention)."""

from nonrecours.audit.log import AuditLog, verify_chain
from nonrecours.audit.manifest import MANIFEST, read_manifest, verify_outputs
from nonrecours.audit.verify import Expired, expired, open_log, purge, verify_run

__all__ = ["MANIFEST", "AuditLog", "Expired", "expired", "open_log", "purge", "read_manifest", "verify_chain",
           "verify_outputs", "verify_run"]
