"""Workspace API keys: the model, its reads and writes, and the owners' page that lists them."""
