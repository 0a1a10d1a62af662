"""How a button reaches Python: ribbon onAction -> VBA Sub -> RunPython -> addin.ribbon function.

Pure text checks over the ribbon XML and the VBA modules' source, shared by the template's tests
and `achieveit-updates workbook check`: a link that breaks anywhere in the chain leaves a button
that does nothing, or shows a VBA error, in Excel.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from xml.etree import ElementTree

RIBBON_MODULE = "addin.ribbon"
_RUN_PYTHON = re.compile(r'RunPython\s+"([^"]*)"')
# "import addin.ribbon; addin.ribbon.validate(template=2)"; before versions: "...validate()"
_COMMAND = re.compile(r"import ([\w.]+); \1\.(\w+)\((?:template=(\d+))?\)")
_XLWINGS_VERSION = re.compile(r'XLWINGS_VERSION\s+As\s+String\s*=\s*"([^"]+)"', re.IGNORECASE)


@dataclass(frozen=True)
class Call:
    """One RunPython command of a Sub: `import module; module.function(template=N)`."""

    module: str
    function: str
    template: int | None  # None: a Sub from before template versions


def on_actions(ribbon_xml: bytes) -> list[str]:
    """Every onAction of the ribbon ('Module.Sub'), in document order, without repeats."""
    root = ElementTree.fromstring(ribbon_xml)
    return list(dict.fromkeys(e.get("onAction", "") for e in root.iter() if e.get("onAction")))


def callback_body(source: str, sub: str) -> str | None:
    """The body of `Public Sub <sub>(control As IRibbonControl)` in a module; None without one."""
    found = re.search(
        rf"^Public Sub {re.escape(sub)}\(control As IRibbonControl\)\s*$(.*?)^End Sub\b",
        source.replace("\r\n", "\n"),
        re.MULTILINE | re.DOTALL,
    )
    return None if found is None else found.group(1)


def run_python_calls(source: str) -> list[Call | str]:
    """Each RunPython command of `source` as a Call, or as its text when it has another form."""
    calls: list[Call | str] = []
    for command in _RUN_PYTHON.findall(source):
        found = _COMMAND.fullmatch(command)
        if found is None:
            calls.append(command)
        else:
            template = int(found.group(3)) if found.group(3) else None
            calls.append(Call(found.group(1), found.group(2), template))
    return calls


def _resolve(module: str, function: str) -> bool:
    try:
        return callable(getattr(importlib.import_module(module), function, None))
    except ImportError:
        return False


def wiring_problems(
    ribbon_xml: bytes,
    modules: Mapping[str, str],
    *,
    template: int | None = None,
    resolves: Callable[[str, str], bool] = _resolve,
) -> list[str]:
    """What breaks between each button and Python, one line each; [] when every link holds.

    `modules` maps VBA module names (any case) to their source. Each onAction must name a
    module and a callback Sub in it; the Sub must run exactly one command of the form
    `import addin.ribbon; addin.ribbon.f(template=N)`, f must be a callable of addin.ribbon
    (`resolves`), and N must be `template` when that is given.
    """
    by_name = {name.casefold(): source for name, source in modules.items()}
    problems = []
    for action in on_actions(ribbon_xml):
        module, _, sub = action.partition(".")
        source = by_name.get(module.casefold())
        if source is None:
            problems.append(f"button {action}: the workbook has no VBA module {module}")
            continue
        body = callback_body(source, sub)
        if body is None:
            problems.append(f"button {action}: module {module} has no Sub {sub}")
            continue
        calls = run_python_calls(body)
        if len(calls) != 1:
            problems.append(f"button {action}: Sub {sub} has {len(calls)} RunPython calls, not 1")
            continue
        call = calls[0]
        if isinstance(call, str):
            problems.append(f"button {action}: RunPython {call!r} is not 'import m; m.f()'")
        elif call.module != RIBBON_MODULE or not resolves(call.module, call.function):
            problems.append(f"button {action}: {call.module}.{call.function} does not exist")
        elif template is not None and call.template != template:
            problems.append(
                f"button {action}: it says template {call.template or 'none'}, not {template}"
            )
    return problems


def xlwings_vba_version(source: str) -> str | None:
    """XLWINGS_VERSION of the xlwings VBA module's source; None when it declares none."""
    found = _XLWINGS_VERSION.search(source)
    return None if found is None else found.group(1)
