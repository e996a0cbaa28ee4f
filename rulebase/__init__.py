"""The rule base's pure core: the portable pattern dialect, rules, text normalization.

Nothing here touches a database, a file or the terminal; storage, Excel and the CLI are
adapters in the `coder` package.
"""
