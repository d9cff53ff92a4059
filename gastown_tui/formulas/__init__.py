"""Formulas: TOML workflow templates, parsed, composed and resolved into ordered steps.

Entry points (imported from their modules so importing this package stays cheap):
`resolve.FormulaLibrary` / `resolve.resolve_formula` -> `resolved.ResolvedFormula`,
`parse.parse_formula_text`, `progress.molecule_progress`, `library.shipped_dir`.
"""
