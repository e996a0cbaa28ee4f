"""Storage adapters: tables, connections, migrations."""
