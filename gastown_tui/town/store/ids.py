"""bd's id scheme: <prefix>-<base36 hash> with adaptive length, wisps, convoys, children."""

from __future__ import annotations

import math
import time

# hashlib and secrets are imported where ids are made: reading commands (bd show, gt hook,
# which agents run constantly as whole processes) never make one, and the two cost ~5 ms.

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
_NUM_BYTES = {3: 2, 4: 3, 5: 4, 6: 4, 7: 5, 8: 5}


def base36(n: int) -> str:
    if n == 0:
        return "0"
    digits = []
    while n:
        n, r = divmod(n, 36)
        digits.append(_ALPHABET[r])
    return "".join(reversed(digits))


def adaptive_length(existing: int, *, min_len: int = 3, max_len: int = 8,
                    max_collision_prob: float = 0.25) -> int:
    for length in range(min_len, max_len + 1):
        if 1 - math.exp(-(existing**2) / (2 * 36**length)) <= max_collision_prob:
            return length
    return max_len


def hash_suffix(title: str, description: str, creator: str, created_ns: int, nonce: int,
                length: int) -> str:
    import hashlib

    content = f"{title}|{description}|{creator}|{created_ns}|{nonce}".encode()
    digest = hashlib.sha256(content).digest()
    n = int.from_bytes(digest[: _NUM_BYTES.get(length, 3)], "big")
    return base36(n).rjust(length, "0")[-length:]


def candidate_ids(prefix: str, title: str, description: str, creator: str, existing: int,
                  *, wisp: bool = False):
    """Yield ids to try in bd's order: growing length, ten nonces each."""
    created_ns = time.time_ns()
    base = f"{prefix}-wisp" if wisp else prefix
    for length in range(adaptive_length(existing), 9):
        for nonce in range(10):
            yield f"{base}-{hash_suffix(title, description, creator, created_ns, nonce, length)}"


def convoy_id() -> str:
    import secrets

    return "hq-cv-" + "".join(secrets.choice(_ALPHABET) for _ in range(5))
