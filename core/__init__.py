"""The lowest layer: what every app may use and that knows no domain app.

Encryption of secrets at rest, the client's address, the API plumbing that is not about
workspaces (errors, renderers, pagination, parameters, the docs page) and the test harness.
"""
