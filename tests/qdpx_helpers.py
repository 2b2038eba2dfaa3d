"""Helpers for the REFI-QDA project (.qdpx) tests: a project two coders coded, and hand-made archives."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from tests.samples import xhs_note
from tests.sync_helpers import CB, DEBT, DOCS, FIRST, TEEN, pid
from tui.core.coding.session import Session
from tui.core.project.ingest import import_file
from tui.core.project.store import Store

XSD = Path(__file__).resolve().parent / "data" / "refi-qda" / "Project.xsd"
EMOJI_TEXT = "我被骗到缅北了😭。护照被扣！🙏 Please help me. 👨‍👩‍👧 家人在找我。"
HOSTILE_TITLE = "标题\x1b[31m red\x1b]8;;http://x\x07"


def notes() -> list[dict[str, object]]:
    """Six RedNote notes; note 0 mixes Chinese and emoji, note 1 carries control sequences."""
    out = [xhs_note(i) for i in range(6)]
    out[0]["desc"] = EMOJI_TEXT
    out[1]["title"] = HOSTILE_TITLE
    out[1]["desc"] = "第一句。\x1b[2J第二句有控制符！第三句。"
    out[1]["nickname"] = "AUTHOR-NICKNAME"
    return out


def coded_project(folder: Path, name: str = "team") -> Store:
    """The team's project: alice and bob coded through the coding session, with quotes, memos and a flag."""
    corpus = folder / "notes.json"
    corpus.write_text(json.dumps(notes(), ensure_ascii=False), encoding="utf-8")
    store = Store(folder / f"{name}.db")
    import_file(store, corpus)
    a = Session(store, CB, "alice")
    a.go_post(pid(store, 0))
    a.set_relevance(1)
    a.add_code(TEEN)
    a.add_code(FIRST)
    a.toggle_quote(0, TEEN)  # 我被骗到缅北了😭。
    a.toggle_quote(2, FIRST)  # 🙏 Please help me.
    a.set_memo("备忘 with emoji 🙏\nsecond line")
    a.set_done(True)
    a.go_post(pid(store, 1))
    a.set_relevance(1)
    a.add_code(DOCS)
    a.toggle_quote(1, DOCS)  # the sentence after a control sequence
    a.toggle_flag()
    a.set_done(True)
    a.go_post(pid(store, 2))
    a.set_relevance(0)
    b = Session(store, CB, "bob")
    b.go_post(pid(store, 0))
    b.set_relevance(1)
    b.add_code(TEEN)
    b.add_code(DEBT)
    b.toggle_quote(3, DEBT)  # 👨‍👩‍👧 家人在找我。 (a ZWJ family emoji: 5 code points)
    b.set_memo("bob's memo")
    b.set_done(True)
    b.go_post(pid(store, 3))
    b.set_relevance(1)
    b.add_code(DOCS)
    b.set_done(True)
    return store


def by_platform_id(store: Store, coders: tuple[str, ...] = ("alice", "bob"), key: str = "platform_id") -> dict:
    """Codes, quote spans and texts, memo, relevance and flag per (coder, post), keyed for comparison."""
    out = {}
    for coder in coders:
        for p, st in store.states(coder).items():
            post = store.post(p)
            assert post is not None
            out[(coder, post[key])] = (sorted(st.codes), sorted((q.start, q.end, q.code_id, q.text) for q in st.quotes),
                                       st.memo, st.relevance, st.flagged)
    return out


def write_zip(path: Path, members: dict[str, bytes | str], *, compression: int = zipfile.ZIP_DEFLATED) -> Path:
    """A zip archive holding exactly these members."""
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data.encode("utf-8") if isinstance(data, str) else data)
    return path


ATLAS_USER = "{8A3C0C5B-4A5E-4B8B-9C39-2D5A4E6F7A10}"
ATLAS_SOURCE = "0F6B5D8E-2C3A-4E1F-9B7D-6A5C4B3A2E10"
ATLAS_TEXT = "Interview one. 我失去了护照。 They took my phone! The end."


def atlas_qde(extra_sources: str = "") -> str:
    """A project.qde shaped the way ATLAS.ti 23 writes one: its namespace, schemaLocation, braces, upper case."""
    return f"""<?xml version="1.0" encoding="utf-8"?>
<Project xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" name="Trafficking study"
 origin="ATLAS.ti 23.2.1 (Windows)"
 creatingUserGUID="{ATLAS_USER}" creationDateTime="2024-03-05T10:11:12Z" modifyingUserGUID="{ATLAS_USER}"
 modifiedDateTime="2024-03-06T09:00:00Z" xsi:schemaLocation="urn:QDA-XML:project:1.0 http://schema.qdasoftware.org/versions/Project/v1.0/Project.xsd"
 xmlns="urn:QDA-XML:project:1.0">
  <Users>
    <User guid="{ATLAS_USER}" name="Dana" id="DA" />
  </Users>
  <CodeBook>
    <Codes>
      <Code guid="A1B2C3D4-0000-4000-8000-000000000001" name="Control" isCodable="true" color="#FF0000">
        <Description>How victims are controlled.</Description>
        <Code guid="A1B2C3D4-0000-4000-8000-000000000002" name="Seized passport" isCodable="true" color="#FF0000" />
        <Code guid="A1B2C3D4-0000-4000-8000-000000000003" name="Phone taken" isCodable="true" color="#FF0000" />
      </Code>
      <Code guid="A1B2C3D4-0000-4000-8000-000000000004" name="Interview" isCodable="true" color="#00FF00" />
    </Codes>
  </CodeBook>
  <Sources>
    <TextSource guid="{ATLAS_SOURCE}" name="Interview 1.docx" richTextPath="internal://{ATLAS_SOURCE}.docx"
     plainTextPath="internal://{ATLAS_SOURCE}.txt"
         creatingUser="{ATLAS_USER}" creationDateTime="2024-03-05T10:12:00Z">
      <PlainTextSelection guid="B0000000-0000-4000-8000-000000000001" name="我失去了护照" startPosition="15"
       endPosition="21"
         creatingUser="{ATLAS_USER}" creationDateTime="2024-03-05T10:13:00Z">
        <Coding guid="C0000000-0000-4000-8000-000000000001"
         creatingUser="{ATLAS_USER}" creationDateTime="2024-03-05T10:13:00Z">
          <CodeRef targetGUID="A1B2C3D4-0000-4000-8000-000000000002" />
        </Coding>
      </PlainTextSelection>
      <PlainTextSelection guid="B0000000-0000-4000-8000-000000000002" name="whole" startPosition="0"
       endPosition="{len(ATLAS_TEXT)}"
         creatingUser="{ATLAS_USER}" creationDateTime="2024-03-05T10:14:00Z">
        <Coding guid="C0000000-0000-4000-8000-000000000002"
         creatingUser="{ATLAS_USER}" creationDateTime="2024-03-05T10:14:00Z">
          <CodeRef targetGUID="A1B2C3D4-0000-4000-8000-000000000004" />
        </Coding>
      </PlainTextSelection>
      <NoteRef targetGUID="D0000000-0000-4000-8000-000000000001" />
    </TextSource>
    <TextSource guid="E0000000-0000-4000-8000-000000000001" name="Recording.txt"
     plainTextPath="absolute:///C:/Study/recording.txt" />
    <PictureSource guid="E0000000-0000-4000-8000-000000000002" name="photo.jpg"
     path="internal://E0000000-0000-4000-8000-000000000002.jpg" />
    {extra_sources}
  </Sources>
  <Notes>
    <Note guid="D0000000-0000-4000-8000-000000000001" name="Memo 1"
         creatingUser="{ATLAS_USER}" creationDateTime="2024-03-05T10:15:00Z">
      <PlainTextContent>Dana's memo: follow up 🙏</PlainTextContent>
    </Note>
  </Notes>
</Project>
"""


def atlas_qdpx(path: Path, qde: str | None = None, **extra: bytes | str) -> Path:
    """A small .qdpx as ATLAS.ti 23 writes it (UTF-8 text with a BOM, a .docx beside it)."""
    members: dict[str, bytes | str] = {"project.qde": qde or atlas_qde(),
                                       f"sources/{ATLAS_SOURCE}.txt": "\ufeff" + ATLAS_TEXT,
                                       f"sources/{ATLAS_SOURCE}.docx": b"PK\x03\x04 not really a docx"}
    members.update(extra)
    return write_zip(path, members)
