"""Repair an openpyxl save at the zip level: put back what openpyxl drops from a workbook.

openpyxl rewrites the whole package. What it loses, and what these functions copy back from the
original file's bytes into the saved file's bytes:
- restore_ribbon: a macro workbook's ribbon (openpyxl drops the customUI14 relationship) and
  VBA project, with their relationships and content types;
- restore_sheet_content: the calculated values of formulas, and the Excel 2010+ extensions of
  the sheets and the workbook;
- repair: both, building (and compressing) the new package once, not once per step: a
  100,000-row sheet is tens of MB of XML to deflate.
Each step only works out which parts to replace or add; _assemble writes the zip.
Pure functions of bytes: no files, no openpyxl objects.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable, Sequence

from .sheetxml import local_name

# Package relationships of a ribbon: Office 2010+ (customUI14) and Office 2007 (customUI).
RIBBON_REL_TYPES = frozenset(
    {
        "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility",
        "http://schemas.microsoft.com/office/2006/relationships/ui/extensibility",
    }
)
VBA_PROJECT = "xl/vbaProject.bin"
ROOT_RELS = "_rels/.rels"
CONTENT_TYPES = "[Content_Types].xml"

Parts = dict[str, bytes]  # zip entry name -> its bytes
# A repair step: (original, saved) -> (parts of saved to replace, parts to add).
_Step = Callable[[zipfile.ZipFile, zipfile.ZipFile], tuple[Parts, Parts]]


def repair(original: bytes, saved: bytes) -> bytes:
    """restore_ribbon(original, restore_sheet_content(original, saved)), assembled once.

    Returns `saved` itself when there is nothing to put back.
    """
    return _repaired(original, saved, (_sheet_content_parts, _ribbon_parts))


def _repaired(original: bytes, saved: bytes, steps: Sequence[_Step]) -> bytes:
    with (
        zipfile.ZipFile(io.BytesIO(original)) as src,
        zipfile.ZipFile(io.BytesIO(saved)) as dst,
    ):
        replaced: Parts = {}
        added: Parts = {}
        for step in steps:  # a later step's parts win, as if each rebuilt the package in turn
            new, extra = step(src, dst)
            replaced.update(new)
            added.update(extra)
        if not replaced and not added:
            return saved
        return _assemble(dst, replaced, added)


def replace_parts(data: bytes, replaced: Parts, added: Parts) -> bytes:
    """The package `data` with some parts' bytes replaced (same entries, same order) and
    `added` appended; `data` itself when there is nothing to change."""
    if not replaced and not added:
        return data
    with zipfile.ZipFile(io.BytesIO(data)) as dst:
        return _assemble(dst, replaced, added)


def _assemble(dst: zipfile.ZipFile, replaced: Parts, added: Parts) -> bytes:
    """`dst` with some parts' bytes replaced (same entries, same order), then `added` at the end."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as result:
        for info in dst.infolist():
            name = info.filename
            result.writestr(info, replaced[name] if name in replaced else dst.read(info))
        for name, data in added.items():
            result.writestr(name, data)
    return out.getvalue()


# ---------------------------------------------------------------------------------------------
# Keeping the VBA project and the ribbon through openpyxl
# ---------------------------------------------------------------------------------------------

_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_ELEMENT = re.compile(rb"<(?:\w+:)?(Relationship|Override|Default)\b[^>]*?(?:/>|>\s*</[^>]*>)")
_ATTR = re.compile(rb'([\w:]+)\s*=\s*"([^"]*)"')


def _elements(xml: bytes, kind: bytes) -> list[tuple[bytes, dict[bytes, bytes]]]:
    return [
        (m.group(0), dict(_ATTR.findall(m.group(0))))
        for m in _ELEMENT.finditer(xml)
        if m.group(1) == kind
    ]


def restore_ribbon(original: bytes, saved: bytes) -> bytes:
    """`saved` (openpyxl's output) with the ribbon and VBA project of `original` put back.

    openpyxl keeps only the 2006 customUI relationship, so a customUI14 ribbon would vanish.
    This copies every part of the ribbon folders (and xl/vbaProject.bin) byte-identical from the
    original, replaces the package's ribbon relationships with the original ones, and adds the
    content types those parts had. Returns `saved` unchanged when the original has no ribbon.
    """
    return _repaired(original, saved, (_ribbon_parts,))


def _ribbon_parts(src: zipfile.ZipFile, dst: zipfile.ZipFile) -> tuple[Parts, Parts]:
    """(parts of `dst` to replace, parts to add) that put back the ribbon and VBA of `src`."""
    names = set(src.namelist())
    rels = src.read(ROOT_RELS) if ROOT_RELS in names else b""
    ribbon = [
        (xml, attrs)
        for xml, attrs in _elements(rels, b"Relationship")
        if attrs.get(b"Type", b"").decode() in RIBBON_REL_TYPES
    ]
    folders = {
        attrs.get(b"Target", b"").decode().lstrip("/").rpartition("/")[0] + "/"
        for _, attrs in ribbon
    }
    keep = {n for n in names for f in folders if f != "/" and n.startswith(f)}
    keep |= {attrs.get(b"Target", b"").decode().lstrip("/") for _, attrs in ribbon} & names
    dst_names = set(dst.namelist())
    if VBA_PROJECT in names and VBA_PROJECT in dst_names:  # saved as .xlsx: no project wanted
        keep.add(VBA_PROJECT)
    if not ribbon and not keep:
        return {}, {}
    parts = {n: src.read(n) for n in keep}
    replaced = {n: data for n, data in parts.items() if n in dst_names}
    added = {n: data for n, data in parts.items() if n not in dst_names}
    if ribbon and ROOT_RELS in dst_names:
        replaced[ROOT_RELS] = _with_ribbon_rels(dst.read(ROOT_RELS), [xml for xml, _ in ribbon])
    if CONTENT_TYPES in dst_names:
        # Only the parts openpyxl did not copy lack their content types (it writes the types of
        # what it copied).
        types = src.read(CONTENT_TYPES) if CONTENT_TYPES in names else b""
        saved_types = dst.read(CONTENT_TYPES)
        new_types = _with_content_types(saved_types, types, added)
        if new_types is not saved_types:
            replaced[CONTENT_TYPES] = new_types
    return replaced, added


def _with_ribbon_rels(saved_rels: bytes, ribbon: list[bytes]) -> bytes:
    kept = [
        (xml, attrs)
        for xml, attrs in _elements(saved_rels, b"Relationship")
        if attrs.get(b"Type", b"").decode() not in RIBBON_REL_TYPES
    ]
    used = {attrs.get(b"Id") for _, attrs in kept}
    added = []
    for xml in ribbon:
        rid = dict(_ATTR.findall(xml)).get(b"Id", b"")
        if rid in used:  # ids are local to the file; a ribbon's id is referenced nowhere
            fresh = next(i for i in (f"rIdUI{n}".encode() for n in range(1, 99)) if i not in used)
            xml = xml.replace(b'Id="' + rid + b'"', b'Id="' + fresh + b'"')
            rid = fresh
        used.add(rid)
        added.append(re.sub(rb"^<\w+:", b"<", xml))
    body = b"".join(xml for xml, _ in kept) + b"".join(added)
    return (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        b'<Relationships xmlns="' + _REL_NS.encode() + b'">' + body + b"</Relationships>"
    )


def _with_content_types(
    saved_types: bytes, original_types: bytes, parts: dict[str, bytes]
) -> bytes:
    """Add the original's Overrides for the copied parts, and Defaults for their extensions."""
    have_overrides = {
        attrs.get(b"PartName", b"").lower() for _, attrs in _elements(saved_types, b"Override")
    }
    have_defaults = {
        attrs.get(b"Extension", b"").lower() for _, attrs in _elements(saved_types, b"Default")
    }
    wanted_parts = {b"/" + name.encode().lower() for name in parts}
    wanted_exts = {name.rpartition(".")[2].encode().lower() for name in parts if "." in name}
    overrides = b"".join(
        xml
        for xml, attrs in _elements(original_types, b"Override")
        if attrs.get(b"PartName", b"").lower() in wanted_parts - have_overrides
    )
    defaults = b"".join(
        xml
        for xml, attrs in _elements(original_types, b"Default")
        if attrs.get(b"Extension", b"").lower() in wanted_exts - have_defaults
    )
    if not overrides and not defaults:
        return saved_types
    # The schema puts Defaults before Overrides: new Defaults go first, new Overrides last.
    start = re.search(rb"<(?:\w+:)?Types\b[^>]*>", saved_types)
    end = saved_types.rfind(b"</")
    if start is None or end < 0:
        return saved_types
    return (
        saved_types[: start.end()]
        + defaults
        + saved_types[start.end() : end]
        + overrides
        + saved_types[end:]
    )


# ---------------------------------------------------------------------------------------------
# Putting back what openpyxl drops from the sheets: formula results, Excel 2010+ extensions
# ---------------------------------------------------------------------------------------------
# Byte-level and regex-based on purpose: a 100,000-row sheet is tens of MB of XML, and only a
# few kinds of elements matter. Parts are matched by sheet name, never by part name.

_OFFICE_REL_NS = {
    b"http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    b"http://purl.oclc.org/ooxml/officeDocument/relationships",
}
_P = rb"(?:[\w.-]+:)?"  # an optional namespace prefix
_SHEET_DATA = re.compile(rb"<" + _P + rb"sheetData\b[^>]*?(/?)>")
_SHEET_DATA_END = re.compile(rb"</" + _P + rb"sheetData\s*>")
# A cell whose first child is a formula (the schema puts <f> first): prefix, attributes, body.
_FORMULA_CELL = re.compile(
    rb"<(" + _P + rb")c(\s[^>]*)?>(\s*<" + _P + rb"f[\s/>].*?)</\1c\s*>", re.DOTALL
)
_VALUE = re.compile(rb"<(" + _P + rb")v(?:\s[^>/]*)?(?:/>|>(.*?)</\1v\s*>)", re.DOTALL)
_REF_ATTR = re.compile(rb'\sr\s*=\s*"([^"]*)"')
_TYPE_ATTR = re.compile(rb'\st\s*=\s*"([^"]*)"')
# Cell types a formula result can have (t="s" would point into the old shared-strings table).
_RESULT_TYPES = frozenset({None, b"n", b"b", b"e", b"str", b"d"})
_ROOT_TAG = re.compile(rb"<" + _P + rb"(?:worksheet|workbook)\b[^>]*>")
_EXT_LST_TAG = re.compile(rb"<(/?)" + _P + rb"extLst\b[^>]*?(/?)>")
_EXT_TAG = re.compile(rb"<(/?)" + _P + rb"ext\b[^>]*?(/?)>")
_XMLNS = re.compile(rb'\sxmlns:([\w.-]+)\s*=\s*"([^"]*)"')
_USED_PREFIX = re.compile(rb"</?([\w.-]+):[\w.-]+|\s([\w.-]+):[\w.-]+\s*=")
_CF_BLOCK = re.compile(
    rb"<(" + _P + rb")conditionalFormatting\b([^>]*)>(.*?)</\1conditionalFormatting\s*>",
    re.DOTALL,
)
_CF_RULE = re.compile(rb"<(" + _P + rb")cfRule\b([^>]*?)(?:/>|>(.*?)</\1cfRule\s*>)", re.DOTALL)
_EXT_LST_START = re.compile(rb"<" + _P + rb"extLst\b")


def restore_sheet_content(original: bytes, saved: bytes) -> bytes:
    """`saved` (openpyxl's output) with what openpyxl dropped from `original` put back.

    - Formula results: openpyxl writes formulas without their calculated values, so a headless
      reader would see uncalculated formulas. Each formula cell of `saved` without a value gets
      the <v> (and type) its cell had in `original`, when that cell held a formula with a value.
    - Excel 2010+ extensions: the <extLst> of each sheet (x14 data validations with lists on
      other sheets, data bars, sparklines...) and of the workbook, and the x14 links of the
      conditional-format rules. Extensions that point at parts openpyxl dropped (slicers,
      timelines: anything with a relationship id) are left out, as Excel would call the file
      damaged.
    Sheets are matched by name. Returns `saved` itself when there is nothing to put back.
    """
    return _repaired(original, saved, (_sheet_content_parts,))


def _sheet_content_parts(src: zipfile.ZipFile, dst: zipfile.ZipFile) -> tuple[Parts, Parts]:
    """(sheet and workbook parts of `dst` to replace, nothing to add): see restore_sheet_content."""
    try:
        old_book, old_sheets = _sheet_parts(src)
        new_book, new_sheets = _sheet_parts(dst)
    except (KeyError, StopIteration, ET.ParseError, ValueError):
        return {}, {}  # not a package we understand: leave openpyxl's output as it is
    pairs = [(old_sheets[name], new_sheets[name]) for name in old_sheets if name in new_sheets]
    changed: Parts = {}
    for old, new in pairs:
        before = dst.read(new)
        after = _restore_sheet(src.read(old), before)
        if after is not before:
            changed[new] = after
    before = dst.read(new_book)
    after = _restore_root_ext(src.read(old_book), before, 0)
    if after is not before:
        changed[new_book] = after
    return changed, {}


def _sheet_parts(archive: zipfile.ZipFile) -> tuple[str, dict[str, str]]:
    """(workbook part, {sheet name: worksheet part}) of a package."""
    book = next(
        _part_name("", attrs.get(b"Target", b""))
        for _, attrs in _elements(archive.read(ROOT_RELS), b"Relationship")
        if attrs.get(b"Type", b"").endswith(b"/officeDocument")
    )
    folder, _, base = book.rpartition("/")
    rels_xml = archive.read(f"{folder}/_rels/{base}.rels" if folder else f"_rels/{base}.rels")
    targets = {
        attrs.get(b"Id", b"").decode(): _part_name(folder, attrs.get(b"Target", b""))
        for _, attrs in _elements(rels_xml, b"Relationship")
        if attrs.get(b"Type", b"").endswith(b"/worksheet")
    }
    sheets: dict[str, str] = {}
    for sheet in ET.fromstring(archive.read(book)).iter():
        if local_name(sheet.tag) != "sheet":
            continue
        rid = next((v for k, v in sheet.attrib.items() if local_name(k) == "id"), "")
        if rid in targets:
            sheets[sheet.get("name", "")] = targets[rid]
    return book, sheets


def _part_name(folder: str, target: bytes) -> str:
    """A relationship target as a zip entry name."""
    text = target.decode()
    if text.startswith("/"):
        return text.lstrip("/")
    parts: list[str] = folder.split("/") if folder else []
    for piece in text.split("/"):
        if piece == "..":
            if parts:
                parts.pop()
        elif piece not in ("", "."):
            parts.append(piece)
    return "/".join(parts)


def _restore_sheet(original: bytes, saved: bytes) -> bytes:
    old_start, old_end = _sheet_data_span(original)
    results = _formula_results(original, old_start, old_end)
    xml = _put_results(saved, results) if results else saved
    xml = _restore_rule_links(original, old_end, xml, _sheet_data_span(xml)[1])
    return _restore_root_ext(original, xml, old_end)


def _sheet_data_span(xml: bytes) -> tuple[int, int]:
    """Where <sheetData> starts and ends; (0, 0) without one."""
    found = _SHEET_DATA.search(xml)
    if found is None:
        return 0, 0
    if found.group(1):  # <sheetData/>
        return found.start(), found.end()
    close = _SHEET_DATA_END.search(xml, found.end())
    return found.start(), close.end() if close else len(xml)


def _attr_type(attrs: bytes) -> bytes | None:
    found = _TYPE_ATTR.search(attrs)
    return found.group(1) if found else None


def _formula_results(xml: bytes, start: int, end: int) -> dict[bytes, tuple[bytes | None, bytes]]:
    """Cell reference -> (t, <v> text) of each formula cell holding a calculated value."""
    results: dict[bytes, tuple[bytes | None, bytes]] = {}
    for cell in _FORMULA_CELL.finditer(xml, start, end):
        attrs = cell.group(2) or b""
        ref = _REF_ATTR.search(attrs)
        value = _VALUE.search(cell.group(3))
        kind = _attr_type(attrs)
        if ref is None or value is None or kind not in _RESULT_TYPES:
            continue
        text = value.group(2) or b""
        if text or kind == b"str":  # a formula returning "" is t="str" with an empty <v>
            results[ref.group(1)] = (kind, text)
    return results


def _put_results(xml: bytes, results: dict[bytes, tuple[bytes | None, bytes]]) -> bytes:
    """Give each formula cell of `xml` without a value its value from `results`."""

    def fix(cell: re.Match[bytes]) -> bytes:
        prefix, attrs, body = cell.group(1), cell.group(2) or b"", cell.group(3)
        ref = _REF_ATTR.search(attrs)
        if ref is None or ref.group(1) not in results:
            return cell.group(0)
        value = _VALUE.search(body)
        if value is not None and (value.group(2) or _attr_type(attrs) == b"str"):
            return cell.group(0)  # it has a value of its own
        kind, text = results[ref.group(1)]
        attrs = _TYPE_ATTR.sub(b"", attrs) + (b' t="' + kind + b'"' if kind else b"")
        new_value = b"<" + prefix + b"v>" + text + b"</" + prefix + b"v>"
        if value is None:
            body += new_value
        else:
            body = body[: value.start()] + new_value + body[value.end() :]
        return b"<" + prefix + b"c" + attrs + b">" + body + b"</" + prefix + b"c>"

    start, end = _sheet_data_span(xml)
    return xml[:start] + _FORMULA_CELL.sub(fix, xml[start:end]) + xml[end:]


def _root_ext_span(xml: bytes, start: int) -> tuple[int, int] | None:
    """Where the root element's own <extLst> (its last child) is; None without one."""
    end = xml.rfind(b"</")
    while end > 0 and xml[end - 1 : end].isspace():
        end -= 1
    if end <= 0 or not xml.endswith(b"extLst>", 0, end):
        return None
    first, depth = None, 0
    for tag in _EXT_LST_TAG.finditer(xml, start, end):
        if tag.group(2):
            continue  # <extLst/>
        if tag.group(1):
            depth -= 1
        else:
            if depth == 0:
                first = tag.start()
            depth += 1
    return None if first is None else (first, end)


def _root_namespaces(xml: bytes) -> dict[bytes, bytes]:
    root = _ROOT_TAG.search(xml)
    return dict(_XMLNS.findall(root.group(0))) if root else {}


def _portable(snippet: bytes, namespaces: dict[bytes, bytes]) -> bytes:
    """`snippet` with the prefixes it uses but declares only on its old root declared on its
    first tag, so it means the same inside another root element."""
    declared = {prefix for prefix, _ in _XMLNS.findall(snippet)}
    used = {a or b for a, b in _USED_PREFIX.findall(snippet)} - {b"xmlns", b"xml"}
    missing = sorted(p for p in used - declared if p in namespaces)
    if not missing:
        return snippet
    declarations = b"".join(b" xmlns:" + p + b'="' + namespaces[p] + b'"' for p in missing)
    first_end = snippet.index(b">")
    if snippet[first_end - 1 : first_end] == b"/":
        first_end -= 1
    return snippet[:first_end] + declarations + snippet[first_end:]


def _refers_to_parts(ext: bytes, namespaces: dict[bytes, bytes]) -> bool:
    """True when an <ext> holds a relationship id (r:id...): its part is gone after openpyxl."""
    bound = {**namespaces, **dict(_XMLNS.findall(ext))}
    prefixes = [re.escape(p) for p, uri in bound.items() if uri in _OFFICE_REL_NS]
    return (
        bool(prefixes)
        and re.search(rb"\s(?:" + b"|".join(prefixes) + rb"):[\w.-]+\s*=", ext) is not None
    )


def _kept_extensions(block: bytes, namespaces: dict[bytes, bytes]) -> bytes | None:
    """An <extLst> without the <ext> children that point at other parts; None if none is left."""
    open_end = block.index(b">") + 1
    close = block.rindex(b"</")
    kept, first, depth = [], 0, 0
    for tag in _EXT_TAG.finditer(block, open_end, close):
        if tag.group(2):
            if depth == 0:
                kept.append(block[tag.start() : tag.end()])
            continue
        if tag.group(1):
            depth -= 1
            if depth == 0:
                kept.append(block[first : tag.end()])
        else:
            if depth == 0:
                first = tag.start()
            depth += 1
    kept = [ext for ext in kept if not _refers_to_parts(ext, namespaces)]
    if not kept:
        return None
    whole = block[:open_end] + b"".join(kept) + block[close:]
    return whole if len(whole) != len(block) else block  # unchanged: the very same bytes


def _restore_root_ext(original: bytes, saved: bytes, start: int) -> bytes:
    """Put the original root element's <extLst> back as the last child of the saved root."""
    span = _root_ext_span(original, start)
    if span is None or _root_ext_span(saved, 0) is not None:
        return saved  # nothing to bring, or the saved part has extensions of its own
    namespaces = _root_namespaces(original)
    block = _kept_extensions(original[span[0] : span[1]], namespaces)
    if block is None:
        return saved
    close = saved.rfind(b"</")
    return saved[:close] + _portable(block, namespaces) + saved[close:]


def _rule_key(attrs: bytes, sqref: bytes) -> tuple[bytes, bytes, bytes]:
    found = dict(_ATTR.findall(attrs))
    return (b" ".join(sqref.split()), found.get(b"type", b""), found.get(b"priority", b""))


def _rule_links(xml: bytes, start: int, end: int) -> dict[tuple[bytes, bytes, bytes], bytes]:
    """(sqref, type, priority) -> the <extLst> of each conditional-format rule that has one
    (the link of a data bar or icon set to its x14 part)."""
    links = {}
    for block in _CF_BLOCK.finditer(xml, start, end):
        sqref = dict(_ATTR.findall(block.group(2))).get(b"sqref", b"")
        for rule in _CF_RULE.finditer(block.group(3)):
            body = rule.group(3) or b""
            ext = _EXT_LST_START.search(body)
            if ext is not None:
                links[_rule_key(rule.group(2), sqref)] = body[ext.start() :].rstrip()
    return links


def _restore_rule_links(original: bytes, old_start: int, saved: bytes, start: int) -> bytes:
    span = _root_ext_span(original, old_start)
    links = _rule_links(original, old_start, span[0] if span else len(original))
    if not links:
        return saved
    namespaces = _root_namespaces(original)

    def fix_block(block: re.Match[bytes]) -> bytes:
        sqref = dict(_ATTR.findall(block.group(2))).get(b"sqref", b"")

        def fix_rule(rule: re.Match[bytes]) -> bytes:
            body = rule.group(3)
            link = links.get(_rule_key(rule.group(2), sqref))
            if link is None or (body and _EXT_LST_START.search(body)):
                return rule.group(0)
            prefix, attrs = rule.group(1), rule.group(2)
            link = _portable(link, namespaces)
            return b"".join(
                (b"<", prefix, b"cfRule", attrs, b">", body or b"", link, b"</", prefix, b"cfRule>")
            )

        whole, offset = block.group(0), block.start()
        inner = _CF_RULE.sub(fix_rule, block.group(3))
        return whole[: block.start(3) - offset] + inner + whole[block.end(3) - offset :]

    return saved[:start] + _CF_BLOCK.sub(fix_block, saved[start:])
