"""The template's version: which layout, VBA and ribbon a workbook carries. Constants only, so
a ribbon press can import it for nothing.

Bump TEMPLATE_VERSION whenever a change to addin/template/ (or the pinned xlwings) should reach
the team copies already in use: `achieveit-updates workbook check` then reports them older, the
ribbon says once to run `achieveit-updates workbook upgrade`, and the upgrade brings them here.

Where a workbook keeps it, twice, written together by the builder and by the upgrade:
- the hidden defined name VERSION_NAME (`=3`): read from xl/workbook.xml by `workbook check`
  and `workbook upgrade` without opening a sheet. A name survives renaming, moving and
  hiding sheets, Save As and copies; hidden, it stays out of Name Manager and nobody types over
  it (a cell on a hidden sheet can be overwritten, and reading it costs a press an Excel call);
- the `template=3` argument of every RunPython call in the VBA module AchieveIt.bas: a press
  learns the version of the buttons it came from without asking Excel anything.
Workbooks made before versions have neither: they count as UNVERSIONED.

History: 2 added the hidden Sent column K; 3 the Plan Items sheet, the 'Plan ID' setting, the
Get Plan Items button and the visible Item column L.
"""

from __future__ import annotations

TEMPLATE_VERSION = 3
UNVERSIONED = 1  # the templates released before versions existed
VERSION_NAME = "AchieveItTemplateVersion"
