"""The portable pattern dialect: one meaning in Oracle REGEXP_LIKE, PostgreSQL, SQLite and Python.

A small recursive-descent parser turns a pattern into a syntax tree or raises `PatternInvalid`
naming the reason and the position. The grammar and the list of rejected constructs come from
the engine-by-engine reasons in docs/dialect.md:

    pattern := ['^'] alt ['$']        alt := seq ('|' seq)*        seq := piece+
    piece   := atom [quant]           quant := ? | * | + | {m} | {m,} | {m,n}   (0 <= m <= n <= 255)
    atom    := LITERAL | '\\' META | '.' | '(' alt ')' | '[' ['^'] item+ ']'

The tree is also what the matching engine reads to find the literal text a match must contain.
"""

from __future__ import annotations

import re
import unicodedata

from .errors import PatternInvalid
from .syntax import (
    ANY,
    Alt,
    CharClass,
    Dot,
    Group,
    Lit,
    Node,
    Pattern,
    Repeat,
    Seq,
    expanded_size,
    first_chars,
    nullable,
)

META = frozenset(".[](){}*+?|^$\\")
_PLAIN_RUN = re.compile("[^" + re.escape("".join(sorted(META))) + "]+")  # characters that are not META
MAX_PATTERN_BYTES = 512
MAX_BOUND = 255
DEFAULT_TIMEOUT = 0.25  # seconds one pattern may spend on one description, wherever a pattern is applied
# Positions a pattern has once its repetitions are spelled out ((a{255}){255}: 65,025). PostgreSQL
# refuses patterns past about 43,000 (measured on 15: "regular expression is too complex"), fewer
# with alternatives inside; no rule a coder writes comes near this bound.
MAX_EXPANDED = 10_000
_COUNTS = re.compile(r"\{(\d+)(?:,(\d*))?\}")

_ESCAPE_HINTS = {
    "d": "\\d is not portable: write [0-9]",
    "D": "\\D is not portable: write [^0-9]",
    "w": "\\w is not portable (its meaning depends on the engine and collation): "
    "write the characters out, e.g. [a-zA-Z0-9]",
    "W": "\\W is not portable: write a negated class such as [^a-zA-Z0-9]",
    "s": "\\s is not portable: descriptions are normalized so a plain space is the only blank; write ' '",
    "S": "\\S is not portable: write [^ ]",
    "b": "\\b is not portable (a word boundary in Python, a backspace in PostgreSQL)",
    "B": "\\B is not portable",
    "y": "\\y is PostgreSQL-only",
    "t": "\\t never occurs: descriptions are normalized, tabs become spaces",
    "n": "\\n never occurs: descriptions are normalized, newlines become spaces",
    "r": "\\r never occurs: descriptions are normalized, line breaks become spaces",
}


# -- parser ------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, source: str):
        self.s = source
        self.i = 0
        self.anchored_end = False

    def fail(self, reason: str, pos: int | None = None) -> PatternInvalid:
        return PatternInvalid(reason, self.i if pos is None else pos, self.s)

    def peek(self) -> str | None:
        return self.s[self.i] if self.i < len(self.s) else None

    def parse(self) -> Pattern:
        anchored_start = self.s.startswith("^")
        if anchored_start:
            self.i = 1
        alt = self.parse_alt(depth=0)
        if self.i < len(self.s):  # only a stray ')' stops parse_alt early at depth 0
            raise self.fail("unmatched ')'")
        if (anchored_start or self.anchored_end) and len(alt.branches) > 1:
            raise self.fail(
                "^ and $ bind only to the first and last alternative of a top-level |; "
                "wrap the alternatives in parentheses, e.g. ^(急性|慢性)阑尾炎$",
                0,
            )
        # A bound on the size from the text alone (its length times every count's maximum) spares
        # the walk for nearly every pattern: the exact size is needed only near the limit.
        rough = len(self.s)
        for m in _COUNTS.finditer(self.s):
            rough *= max(int(m.group(1)), int(m.group(2) or 0), 1)
        size = expanded_size(alt) if rough > MAX_EXPANDED else 0
        if size > MAX_EXPANDED:
            raise self.fail(
                f"the pattern spells out to {size} positions when its repetitions are expanded "
                f"(at most {MAX_EXPANDED}: PostgreSQL refuses larger ones as too complex); use smaller bounds",
                0,
            )
        return Pattern(self.s, alt, anchored_start, self.anchored_end)

    def parse_alt(self, depth: int) -> Alt:
        branches = [self.parse_seq(depth)]
        while self.peek() == "|":
            self.i += 1
            branches.append(self.parse_seq(depth))
        return Alt(tuple(branches))

    def parse_seq(self, depth: int) -> Seq:
        start = self.i
        items: list[Node] = []
        while True:
            c = self.peek()
            if c is None or c == "|" or (c == ")" and depth > 0):
                break
            if c == ")":
                raise self.fail("unmatched ')'")
            if c == "$":
                if self.i == len(self.s) - 1 and depth == 0:
                    self.anchored_end = True
                    self.i += 1
                    break
                raise self.fail("$ is only allowed at the very end of a pattern (write \\$ for a dollar sign)")
            run = self.literal_run()
            if run is not None:
                item: Node = Lit(run)
            else:
                item = self.parse_quantifier(self.parse_atom(depth))
            if type(item) is Lit and items and type(items[-1]) is Lit:
                items[-1] = Lit(items[-1].text + item.text)
            else:
                items.append(item)
        if not items:
            raise self.fail("empty alternative: every side of | and every group needs something to match", start)
        return Seq(tuple(items))

    def literal_run(self) -> str | None:
        """Plain characters up to the next metacharacter, checked at once; None when there are none.

        The character before a quantifier is left to parse_atom, since the quantifier binds to it
        alone. Most of a Chinese pattern is such runs, so this is most of the parsing.
        """
        m = _PLAIN_RUN.match(self.s, self.i)
        if m is None:
            return None
        end = m.end()
        if end < len(self.s) and self.s[end] in "*+?{":
            end -= 1
        if end <= self.i:
            return None
        run = self.s[self.i : end]
        if unicodedata.normalize("NFKC", run) != run or not run.isprintable():
            return None  # parse_atom checks character by character and names the culprit
        self.i = end
        return run

    def parse_atom(self, depth: int) -> Node:
        c = self.s[self.i]
        pos = self.i
        if c == "(":
            if self.s.startswith("(?", self.i):
                raise self.fail(
                    "(? constructs (non-capturing groups, lookaround, named groups, inline flags) are not portable; "
                    "use plain ( )"
                )
            self.i += 1
            alt = self.parse_alt(depth + 1)
            if self.peek() != ")":
                raise self.fail("unclosed '('", pos)
            self.i += 1
            return Group(alt)
        if c == "[":
            return self.parse_class()
        if c == "\\":
            return self.parse_escape()
        if c == ".":
            self.i += 1
            return Dot()
        if c == "^":
            raise self.fail("^ is only allowed at the very start of a pattern (write \\^ for a caret)")
        if c in "*+?":
            raise self.fail(f"'{c}' has nothing to repeat (write \\{c} for the character)")
        if c == "{":
            raise self.fail("'{' has nothing to repeat (write \\{ for the character)")
        if c in "}]":
            raise self.fail(f"unescaped '{c}': write \\{c} for the character")
        self.i += 1
        self.check_literal(c, pos)
        return Lit(c)

    def check_literal(self, c: str, pos: int) -> None:
        if c in "\t\n\r" or unicodedata.category(c) == "Cc":
            raise self.fail(f"control character U+{ord(c):04X} never occurs in normalized descriptions", pos)
        if unicodedata.category(c) == "Cf":
            raise self.fail(
                f"invisible formatting character U+{ord(c):04X} (a zero-width character or a bidirectional "
                "control) is not allowed: it cannot be seen, and normalization removes it from descriptions",
                pos,
            )
        if c.isspace() and c != " ":
            raise self.fail(f"blank U+{ord(c):04X} never occurs in normalized descriptions (it becomes a space)", pos)
        folded = unicodedata.normalize("NFKC", c)
        if folded != c:
            shown = "".join("\\" + f if f in META else f for f in folded)
            raise self.fail(
                f"'{c}' never occurs in normalized descriptions "
                f"(text is NFKC-normalized, so '{c}' becomes '{folded}'); "
                f"write {shown}",
                pos,
            )

    def parse_escape(self) -> Node:
        pos = self.i
        if self.i + 1 >= len(self.s):
            raise self.fail("pattern ends with a lone backslash", pos)
        c = self.s[self.i + 1]
        self.i += 2
        if c in META:
            return Lit(c)
        if c.isdigit():
            raise self.fail(f"back-references (\\{c}) are not portable", pos)
        hint = _ESCAPE_HINTS.get(c)
        if hint:
            raise self.fail(hint, pos)
        raise self.fail(
            f"escape \\{c} is not portable: only metacharacters . [ ] ( ) {{ }} * + ? | ^ $ \\ may be escaped", pos
        )

    def parse_class(self) -> CharClass:
        start = self.i
        self.i += 1
        negated = self.peek() == "^"
        if negated:
            self.i += 1
        chars: set[str] = set()
        first = True
        while True:
            c = self.peek()
            if c is None:
                raise self.fail("unclosed '['", start)
            if c == "]":
                if first:
                    raise self.fail(
                        "']' first in a class means different things in different engines; it cannot be used"
                    )
                self.i += 1
                break
            if c == "\\":
                raise self.fail(
                    "a backslash inside [ ] is literal in Oracle but an escape elsewhere; it cannot be used"
                )
            if c == "[":
                nxt = self.s[self.i + 1] if self.i + 1 < len(self.s) else ""
                if nxt in ":=.":
                    raise self.fail(f"POSIX bracket expressions [{nxt} {nxt}] are not portable")
                raise self.fail("'[' inside a class is not portable")
            pos = self.i
            is_range = self.i + 2 < len(self.s) and self.s[self.i + 1] == "-" and self.s[self.i + 2] not in "]"
            if is_range:
                lo, hi = c, self.s[self.i + 2]
                if not _portable_range(lo, hi):
                    raise self.fail(
                        f"range {lo}-{hi} is not portable: ranges are ordered by collation in Oracle; "
                        "use ranges inside 0-9, a-z or A-Z, or list the characters",
                        pos,
                    )
                chars.update(chr(o) for o in range(ord(lo), ord(hi) + 1))
                self.i += 3
                if self.peek() == "-" and self.s[self.i + 1 : self.i + 2] not in ("]", ""):
                    raise self.fail(
                        "'-' right after a range is read differently by the engines (PostgreSQL refuses it); "
                        "put '-' first or last in the class",
                        self.i,
                    )
            else:
                if c != "-":
                    self.check_literal(c, pos)
                chars.add(c)
                self.i += 1
            first = False
        return CharClass(negated, frozenset(chars))

    def parse_quantifier(self, atom: Node) -> Node:
        c = self.peek()
        if c == "*":
            lo, hi = 0, None
            self.i += 1
        elif c == "+":
            lo, hi = 1, None
            self.i += 1
        elif c == "?":
            lo, hi = 0, 1
            self.i += 1
        elif c == "{":
            lo, hi = self.parse_bounds()
        else:
            return atom
        nxt = self.peek()
        if nxt == "?":
            raise self.fail("lazy quantifiers (*? +? ?? {m,n}?) are not portable", self.i)
        if nxt == "+":
            raise self.fail("possessive quantifiers (*+ ++ ?+) are not portable", self.i)
        if nxt is not None and nxt in "*{":
            raise self.fail("a quantifier cannot follow another quantifier; use a group: (a{2}){3}", self.i)
        return Repeat(atom, lo, hi)

    def parse_bounds(self) -> tuple[int, int | None]:
        start = self.i
        end = self.s.find("}", self.i)
        if end < 0:
            raise self.fail("'{' without '}' (write \\{ for the character)", start)
        body = self.s[self.i + 1 : end]
        self.i = end + 1
        lo_s, comma, hi_s = body.partition(",")
        if not lo_s:
            if comma:
                raise self.fail("{,n} is not portable: write {0,n}", start)
            raise self.fail("empty bounds {}", start)
        if not (lo_s.isascii() and lo_s.isdigit()) or (hi_s and not (hi_s.isascii() and hi_s.isdigit())):
            raise self.fail(f"malformed bounds {{{body}}}: write {{m}}, {{m,}} or {{m,n}}", start)
        lo = int(lo_s)
        hi: int | None = lo if not comma else (int(hi_s) if hi_s else None)
        if lo > MAX_BOUND or (hi is not None and hi > MAX_BOUND):
            raise self.fail(f"bounds over {MAX_BOUND} are not portable (PostgreSQL's limit)", start)
        if hi is not None and hi < lo:
            raise self.fail(f"bounds {{{body}}}: the maximum is smaller than the minimum", start)
        return lo, hi


def _portable_range(lo: str, hi: str) -> bool:
    for a, z in (("0", "9"), ("a", "z"), ("A", "Z")):
        if a <= lo <= z and a <= hi <= z:
            return lo <= hi
    return False


def _check_backtracking(node: Node, repeated: bool) -> None:
    """Reject the shapes that make backtracking engines take exponential time.

    `repeated` is true inside a repetition that may run more than once. There, a nested
    quantifier of variable count ((a+)+, (.*a){3}) or an alternation whose branches can start
    with the same character ((a|aa)+) lets the engine split the text in exponentially many ways.
    """
    if isinstance(node, Repeat):
        if repeated and (node.max is None or node.max != node.min):
            raise PatternInvalid("nested repetition such as (a+)+ or (.*a){2,} can take exponential time")
        _check_backtracking(node.node, repeated or node.max is None or node.max > 1)
    elif isinstance(node, Group):
        _check_backtracking(node.alt, repeated)
    elif isinstance(node, Alt):
        if repeated and len(node.branches) > 1:
            seen: set[str] = set()
            for b in node.branches:
                f = first_chars(b)
                if f is ANY or seen & f:
                    raise PatternInvalid(
                        "alternatives inside a repeated group must start with different characters; "
                        "(a|aa)+ can take exponential time"
                    )
                seen |= f
        for b in node.branches:
            _check_backtracking(b, repeated)
    elif isinstance(node, Seq):
        for item in node.items:
            _check_backtracking(item, repeated)


def parse(source: str) -> Pattern:
    """Parse and validate a pattern; raise PatternInvalid with the reason and position."""
    if not isinstance(source, str) or source == "":
        raise PatternInvalid("empty pattern")
    size = len(source.encode("utf-8"))
    if size > MAX_PATTERN_BYTES:
        raise PatternInvalid(
            f"pattern is {size} UTF-8 bytes; Oracle's limit is {MAX_PATTERN_BYTES} (about 170 Chinese characters)"
        )
    if source != source.strip():
        raise PatternInvalid(
            "pattern starts or ends with a space; descriptions are trimmed, so it would never match there"
        )
    if source in ("^", "$", "^$"):
        raise PatternInvalid("empty pattern")
    pattern = _Parser(source).parse()
    if nullable(pattern.alt):
        raise PatternInvalid("pattern can match the empty string, so it would match every description")
    try:
        _check_backtracking(pattern.alt, repeated=False)
    except PatternInvalid as exc:
        raise PatternInvalid(exc.reason, None, source) from None
    return pattern
