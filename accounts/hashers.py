"""How passwords are stored: Argon2id at the parameters OWASP recommends.

Django's default, PBKDF2 at 1,000,000 iterations, costs about 0.24 s of CPU a sign-in here,
and buys little against a graphics card. Argon2id is memory-hard (each guess needs 19 MiB)
and costs about 18 ms: sign-ins stop queueing up behind one another when many people sign
in at once (bench/bench_load.py), and a stolen hash is harder to crack, not easier.

The parameters are OWASP's first recommended set (Password Storage Cheat Sheet): 19 MiB of
memory, 2 passes, 1 lane. A hash made with other parameters, or by PBKDF2 or scrypt before,
is still checked, and replaced by one of these at its owner's next sign-in.
"""

from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher


class Argon2idPasswordHasher(Argon2PasswordHasher):
    """Argon2id (Django's argon2 hasher uses the id variant) with OWASP's parameters."""

    time_cost = 2
    memory_cost = 19_456  # KiB
    parallelism = 1
