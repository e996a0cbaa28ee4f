"""icdcoder rules mine, evaluate: learning from the coded history."""

from __future__ import annotations

COMMANDS: list = []
