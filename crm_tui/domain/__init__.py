"""Domain services: field types, formulas, values, records, projects, the template.

Pure Python over ``crm_tui.db``; never imports Textual or plotext.
"""
