"""Reading a codebook file: bounded, safe YAML with line-numbered problems, and a cache of validated ones."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, ScalarNode, SequenceNode
from yaml.nodes import Node as YamlNode

from tui.core.codebook.model import Codebook, build_codebook
from tui.core.codebook.validate import MERGE, NULL, STR, CodebookError, Problem, line_of, validate
from tui.core.files import FileRefused, atomic_write, read_bytes, read_text
from tui.core.safe import clean

MAX_BYTES = 2 * 1024 * 1024
CACHE_VERSION = 3
"""Bump when the dataclasses change shape or validation tightens, so old cached codebooks are ignored."""
MAX_ALIAS_NODES = 10_000
MAX_EXPANDED_CHARS = MAX_BYTES
"""Characters of text (keys and values) the document may hold with every alias expanded: no more than a
2 MB file without aliases can hold, so aliases never make a codebook bigger than the file limit allows."""
MAX_CACHE_BYTES = 4 * MAX_EXPANDED_CHARS + 1024 * 1024
"""A cached codebook is JSON of at most MAX_EXPANDED_CHARS characters (4 bytes each at most) plus syntax."""
MAX_STRING = 5_000
_T = "tag:yaml.org,2002:"
# Tags that safe_load would turn into bytes, sets or pairs are never valid codebook content.
_TAGS = {STR, NULL, MERGE} | {_T + t for t in ("int", "float", "bool", "timestamp", "seq", "map")}
# Characters the YAML reader refuses; found up front so each one gets its own line number.
_BAD_CHARS = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _size_problem(size: int, source: str) -> list[Problem]:
    if size <= MAX_BYTES:
        return []
    return [Problem(source, None, f"the file is {size:,} bytes; a codebook may be at most 2 MB ({MAX_BYTES:,} bytes)")]


def load_codebook(path: str | os.PathLike[str]) -> Codebook:
    """Read and validate a codebook file; raises CodebookError listing every problem."""
    source = str(path)
    try:
        too_big = _size_problem(os.stat(path).st_size, source)  # before reading a byte of it
        if too_big:
            raise CodebookError(too_big)
        # A regular file only (never a FIFO or /dev/zero), and never more than the limit, even if it grows.
        raw = read_bytes(path, what="codebook", max_bytes=MAX_BYTES)
    except OSError as e:
        raise CodebookError([Problem(source, None, f"cannot read the file: {e.strerror or e}")]) from None
    except FileRefused as e:
        raise CodebookError([Problem(source, None, _reason(str(e), source))]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise CodebookError([Problem(source, line, f"the file is not UTF-8 text (byte 0x{raw[e.start]:02x}); "
                                                   "save it as UTF-8")]) from None
    cached = cache_path(raw)
    if cached is not None:
        try:
            # The cache is read like any file: bounded, and only if it is a regular file.
            blob = json.loads(read_text(cached, what="cached codebook", max_bytes=MAX_CACHE_BYTES))
            return dataclasses.replace(build_codebook(blob["data"], source), hash=blob["hash"])
        except (FileRefused, ValueError, KeyError, TypeError):
            pass  # no cache yet, or a stale one: validate the file properly
    cb, data = _parse(text, source)
    if cached is not None:
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            with atomic_write(cached, what="cached codebook") as fh:
                fh.write(json.dumps({"hash": cb.hash, "data": data}, ensure_ascii=False))
        except (OSError, FileRefused, TypeError, ValueError):
            pass  # a read-only home folder only costs speed
    return cb


def _reason(message: str, source: str) -> str:
    # The Problem already starts with the file name: "codebook.yaml: it is a named pipe; …".
    shown = clean(source, oneline=True)
    if message.startswith(shown + " "):
        message = "it" + message[len(shown):]
    return message[:1].lower() + message[1:].rstrip(".")


def cache_path(raw: bytes) -> Path | None:
    """Where the validated form of exactly these bytes is kept, so `qualtui lookup` starts fast."""
    base = os.environ.get("QUALTUI_CACHE") or os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    if not base:
        return None
    digest = hashlib.sha256(raw + f"|{CACHE_VERSION}".encode()).hexdigest()[:32]
    return Path(base) / "qualtui" / "codebooks" / f"{digest}.json"


def parse_codebook(text: str, source: str = "<string>") -> Codebook:
    """Validate and build a codebook from YAML text; raises CodebookError listing every problem."""
    return _parse(text, source)[0]


def _parse(text: str, source: str) -> tuple[Codebook, Any]:
    too_big = _size_problem(len(text.encode("utf-8", "surrogatepass")), source)
    if too_big:
        raise CodebookError(too_big)
    root, loader, problems = _compose(text, source)
    if root is None or loader is None:
        raise CodebookError(problems)
    try:
        problems, fatal = _check_graph(root, source)
        if not fatal:
            problems = sorted(problems + validate(root, source), key=lambda p: p.line or 0)
        if problems:
            raise CodebookError(problems)
        try:
            data = loader.construct_document(root)
        except (yaml.YAMLError, ValueError, TypeError) as e:  # validation should leave nothing for this
            raise CodebookError([Problem(source, None, f"the YAML cannot be read: {e}")]) from None
    finally:
        loader.dispose()
    return build_codebook(data, source), data


def _compose(text: str, source: str) -> tuple[YamlNode | None, yaml.SafeLoader | None, list[Problem]]:
    # Compose only: the node tree keeps line numbers, and no Python objects are built yet.
    if not text.strip():
        return None, None, [Problem(source, None, "the file is empty")]
    bad = [Problem(source, text.count("\n", 0, m.start()) + 1, f"the file contains the control character "
                   f"U+{ord(m.group()):04X}, which YAML does not allow") for m in _BAD_CHARS.finditer(text)]
    if bad:
        return None, None, bad[:20]
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        node = loader.get_single_node()
        if node is not None and not (isinstance(node, ScalarNode) and node.tag == NULL):
            return node, loader, []
        problem = Problem(source, None, "the file is empty (it holds only comments)")
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else None
        reason = str(e.problem)
        if e.context and reason.startswith("but "):  # "expected a single document ..., but found another"
            reason = f"{e.context}, {reason}"
        elif e.context and e.context_mark:
            reason += f" ({e.context} on line {e.context_mark.line + 1})"
        problem = Problem(source, line, f"the YAML cannot be read: {reason}{_tab_hint(text, line)}")
    except (yaml.YAMLError, RecursionError) as e:
        reason = "it is nested too deeply" if isinstance(e, RecursionError) else str(e)
        problem = Problem(source, None, f"the YAML cannot be read: {reason}")
    loader.dispose()
    return None, None, [problem]


def _tab_hint(text: str, line: int | None) -> str:
    lines = text.splitlines()
    if line and line <= len(lines) and "\t" in lines[line - 1]:
        return "; YAML indents with spaces, not tabs"
    return ""


def _children(node: YamlNode) -> list[YamlNode]:
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    return list(node.value) if isinstance(node, SequenceNode) else []


def _check_graph(root: YamlNode, source: str) -> tuple[list[Problem], bool]:
    """Check each distinct node once: aliases, tags, text length, repeated fields. True means fatal."""
    problems: list[Problem] = []
    on_stack, done = 1, 2
    state = {id(root): on_stack}
    sizes: dict[int, int] = {}  # expanded size of each finished node
    chars: dict[int, int] = {}  # characters of text under each finished node, aliases expanded
    extra = 0  # nodes that expanding the aliases would add
    _check_node(root, source, problems)
    # An alias is the very same Node object met again, so a node still on the stack is a recursive
    # alias, and a finished one is a repeat whose size we add up without ever expanding it.
    stack = [(root, iter(_children(root)))]
    while stack:
        node, children = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            state[id(node)] = done
            kids = _children(node)
            sizes[id(node)] = 1 + sum(sizes[id(c)] for c in kids)
            # Counted once per distinct node from its children's totals, so the walk stays linear in the
            # file however far the aliases would expand; the totals only grow towards the root.
            chars[id(node)] = len(node.value) if isinstance(node, ScalarNode) else sum(chars[id(c)] for c in kids)
            if chars[id(node)] > MAX_EXPANDED_CHARS:
                problems.append(Problem(source, line_of(node), "the YAML aliases here expand to more than "
                                        f"{MAX_EXPANDED_CHARS:,} characters of text (a guard against "
                                        "'billion laughs' files)"))
                return problems, True
        elif id(child) not in state:
            state[id(child)] = on_stack
            _check_node(child, source, problems)
            stack.append((child, iter(_children(child))))
        elif state[id(child)] == on_stack:
            problems.append(Problem(source, line_of(node), "this YAML alias refers to an anchor that contains "
                                    "it (a recursive alias); a codebook cannot use one"))
            return problems, True
        else:
            extra += sizes[id(child)]
            if extra > MAX_ALIAS_NODES:
                problems.append(Problem(source, line_of(node), "the YAML aliases here expand to more than "
                                        f"{MAX_ALIAS_NODES:,} nodes (a guard against 'billion laughs' files)"))
                return problems, True
    return problems, False


def _check_node(node: YamlNode, source: str, problems: list[Problem]) -> None:
    if node.tag not in _TAGS:
        tag = node.tag.replace(_T, "!!")
        problems.append(Problem(source, line_of(node), f"the YAML tag '{tag}' is not allowed in a codebook"))
    elif isinstance(node, ScalarNode) and node.tag == STR and len(node.value) > MAX_STRING:
        problems.append(Problem(source, line_of(node), f"this text is {len(node.value):,} characters long; "
                                f"the limit is {MAX_STRING:,}"))
    elif isinstance(node, MappingNode):
        seen: dict[tuple[str, str], int] = {}
        for key, _ in node.value:
            if isinstance(key, ScalarNode) and key.tag != MERGE:
                if (key.tag, key.value) in seen:
                    problems.append(Problem(source, line_of(key), f"the field '{key.value}' appears twice "
                                            f"in one mapping (also on line {seen[key.tag, key.value]})"))
                else:
                    seen[key.tag, key.value] = line_of(key)
