"""Transports: how one account's messages reach a server; `factory.transport_for` picks one."""
