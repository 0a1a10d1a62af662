Attribute VB_Name = "AchieveIt"
' AchieveIt Progress Updates: the ribbon's callbacks.
' Each button of the AchieveIt tab (customUI/customUI14.xml) calls one Sub here, which runs
' one Python function of addin.ribbon through RunPython (the xlwings module of this workbook).
' template=3 tells Python which template version these buttons belong to (TEMPLATE_VERSION in
' addin/template/version.py: change both together), so a press can say when the workbook is older.
' Source: addin/template/AchieveIt.bas. Rebuild the workbook with: python -m addin.template build
Option Explicit

Public Sub OnValidate(control As IRibbonControl)
    RunPython "import addin.ribbon; addin.ribbon.validate(template=3)"
End Sub

Public Sub OnClearResults(control As IRibbonControl)
    RunPython "import addin.ribbon; addin.ribbon.clear_results(template=3)"
End Sub

Public Sub OnSubmit(control As IRibbonControl)
    RunPython "import addin.ribbon; addin.ribbon.submit(template=3)"
End Sub

Public Sub OnRefreshStatus(control As IRibbonControl)
    RunPython "import addin.ribbon; addin.ribbon.refresh_status(template=3)"
End Sub

Public Sub OnExportCsv(control As IRibbonControl)
    RunPython "import addin.ribbon; addin.ribbon.export_csv(template=3)"
End Sub

Public Sub OnGetPlanItems(control As IRibbonControl)
    RunPython "import addin.ribbon; addin.ribbon.get_plan_items(template=3)"
End Sub

Public Sub OnSetApiKey(control As IRibbonControl)
    RunPython "import addin.ribbon; addin.ribbon.set_api_key(template=3)"
End Sub

Public Sub OnOpenSettings(control As IRibbonControl)
    RunPython "import addin.ribbon; addin.ribbon.open_settings(template=3)"
End Sub
