"""Post identity: the content hash, author pseudonyms and the random labels posts are quoted by."""

from __future__ import annotations

import functools
import hashlib
import secrets

LABEL_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
"""Label characters; 0/O, 1/l/I are left out so a label read aloud or from print is unambiguous."""


def text_hash(title: str, text: str) -> str:
    """The hash that identifies a post's content across projects and caches."""
    h = hashlib.sha256()
    h.update(title.encode("utf-8", "surrogatepass"))
    h.update(b"\x00")
    h.update(text.encode("utf-8", "surrogatepass"))
    return h.hexdigest()[:32]


@functools.lru_cache(maxsize=65536)
def pseudonym(salt: str, raw: str) -> str:
    """A salted, one-way author pseudonym such as `A-k3Xp9` (empty for no author)."""
    if not raw:
        return ""
    digest = hashlib.sha256((salt + "\x00" + raw).encode("utf-8", "surrogatepass")).digest()
    num = int.from_bytes(digest[:8], "big")
    chars = []
    for _ in range(5):
        num, r = divmod(num, len(LABEL_ALPHABET))
        chars.append(LABEL_ALPHABET[r])
    return "A-" + "".join(chars)


def new_label(taken: set[str]) -> str:
    """A fresh random label `P-xxx` not in `taken` (and added to it), longer once the three-character space fills up."""
    length = 3
    while len(taken) > (len(LABEL_ALPHABET) ** length) // 4:
        length += 1
    while True:
        label = "P-" + "".join(secrets.choice(LABEL_ALPHABET) for _ in range(length))
        if label not in taken:
            taken.add(label)
            return label
