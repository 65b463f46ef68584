"""Public verification codes: short, unguessable, easy to type from paper.

A code is 10 characters of Crockford's base32 (digits and capital letters without I, L, O, U: 50 random bits,
from `secrets`), stored as those 10 characters and printed in groups, "7K3Q-9XME-2B". What someone types is
normalised the way Crockford's alphabet intends: any case, dashes and spaces ignored, O read as 0, I and L as 1.
"""

import re
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 10
GROUPS = (4, 4, 2)
# What a reader may type for a character that is not in the alphabet but looks like one.
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = re.compile(r"[\s\-_.·‐‑–—]+")
_CANONICAL = re.compile(f"[{ALPHABET}]{{{LENGTH}}}")


def code_generate() -> str:
    """A new random code, 10 characters, no dashes (as stored)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def code_normalise(text) -> str | None:
    """The stored form of what someone typed or a URL holds ("7k3q-9xme-2b", "7K3Q 9XME 2B", "7K3Q9XMEZB"),
    or None when it cannot be a code (wrong length, a character outside the alphabet)."""
    if not isinstance(text, str) or len(text) > 40:
        return None
    cleaned = _SEPARATORS.sub("", text).upper().translate(_LOOKALIKES)
    return cleaned if _CANONICAL.fullmatch(cleaned) else None


def code_format(code: str) -> str:
    """The printed form of a stored code: "7K3Q-9XME-2B"."""
    parts, start = [], 0
    for size in GROUPS:
        parts.append(code[start:start + size])
        start += size
    return "-".join(parts)
