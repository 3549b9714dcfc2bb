"""API plumbing that knows no domain: one error shape, renderers, pagination, parameters and
the docs page. The workspace-scoped parts (access, viewsets) are in accounts.api."""
