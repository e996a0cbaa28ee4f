"""The rule base and the code list in the database: rules, normalization entries, their history,
the rule-base version, and the read-only views the list commands show. Every function takes an
open Connection and leaves the transaction to the caller."""
