Attribute VB_Name = "AchieveIt"
' AchieveIt Progress Updates: the ribbon's callbacks.
' Each button of the AchieveIt tab (customUI/customUI14.xml) calls one Sub here, which runs
' one Python function of addin.ribbon through RunPython (the xlwings module of this workbook).
' Source: addin/template/AchieveIt.bas. Rebuild the workbook with: python -m addin.template build
Option Explicit

Public Sub OnValidate(control As IRibbonControl)
    RunPython "import addin.ribbon; addin.ribbon.validate()"
End Sub

Public Sub OnClearResults(control As IRibbonControl)
    RunPython "import addin.ribbon; addin.ribbon.clear_results()"
End Sub

Public Sub OnSubmit(control As IRibbonControl)
    RunPython "import addin.ribbon; addin.ribbon.submit()"
End Sub

Public Sub OnRefreshStatus(control As IRibbonControl)
    RunPython "import addin.ribbon; addin.ribbon.refresh_status()"
End Sub

Public Sub OnExportCsv(control As IRibbonControl)
    RunPython "import addin.ribbon; addin.ribbon.export_csv()"
End Sub

Public Sub OnSetApiKey(control As IRibbonControl)
    RunPython "import addin.ribbon; addin.ribbon.set_api_key()"
End Sub

Public Sub OnOpenSettings(control As IRibbonControl)
    RunPython "import addin.ribbon; addin.ribbon.open_settings()"
End Sub
