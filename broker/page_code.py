"""The code on a ticket's QR that opens its page: the ticket id and a key nobody can guess.

    code = page_code("20261125-1004", key)     # '20261125-1004.k7f3q9ab'
    ticket_of(code, key)                        # '20261125-1004', or None for a guessed or altered code

Ticket ids are a date and a number, so anyone could type the next one; the key (8 base32
characters of an HMAC-SHA256 under the hall's secret, 40 bits) makes a guessed page a 404,
and the page of a ticket can only be opened from the ticket itself. The hall's key is derived
from hall.secret (broker.server), so it survives restarts and every printed QR keeps working.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

KEY_CHARS = 8


def hall_key(secret: str) -> bytes:
    """The ticket pages' HMAC key, from the hall service's own secret (a different use, a different key)."""
    return hashlib.sha256(b"motcua ticket page\0" + secret.encode()).digest()


def _mac(ticket_id: str, key: bytes) -> str:
    digest = hmac.new(key, ticket_id.encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode().lower()[:KEY_CHARS]


def page_code(ticket_id: str, key: bytes) -> str:
    """What the QR carries after ?t= ('' when the hall has no key: tests of the engine alone)."""
    return f"{ticket_id}.{_mac(ticket_id, key)}" if key else ""


def ticket_of(code: str, key: bytes) -> str | None:
    """The ticket id of a right code; None for anything else (compared in constant time)."""
    # A code off a URL may hold anything: only ASCII can be one of ours (and compare_digest wants it).
    if not key or len(code) > 64 or code.count(".") != 1 or not code.isascii():
        return None
    ticket_id, mac = code.split(".")
    return ticket_id if hmac.compare_digest(mac, _mac(ticket_id, key)) else None
