"""Files in and out: .xlsx and .csv read through one column schema (columns), each importer
planning its rows (dictionary, rules, normalization, diagnoses) before anything is written, and
the rules workbook written for editing (export)."""
