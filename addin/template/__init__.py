"""Sources of workbook_template.xlsm and its builder.

Rebuild with `python -m addin.template build`; the builder is `addin.template.build.build`,
the check is `addin.template.compare.compare_templates`.
"""
