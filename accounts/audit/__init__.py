"""The audit log: who did what, when and from where, append-only from the app's side.

Services call `accounts.audit.services.record` where an action that matters happens; the
actor and the address come from the request being served (`AuditContextMiddleware`), so no
service needs a request argument. Work done by a worker, with no request, is the system's.
"""
