"""Text search of the lists: accent- and case-insensitive, by whole words. One definition for every list.

"minh phat", "MINH PHÁT" and "Minh Phát" all find "Công ty TNHH Minh Phát", and "duc" finds "Đức". The text and the
query are folded (diacritics removed, đ → d, lower case) and split into words at anything that is not a letter or
a digit; every word of the query must be a word of the text, in any order. A piece of a word does not match: "inh"
does not find "Minh". A word ending in `*` matches the words that start with it: "minh ph*" finds Minh Phát and
Minh Phương (what a type-ahead client sends). Codes (case references, permit numbers, tax codes, site codes) are
still found by any part of them, as typed: "GPIN-", "BT-2019-00042", "-20".

* **PostgreSQL:** `<words> @@ to_tsquery('simple', 'minh & ph:*')`. The function `f_search_words(text)`
  (migration `cases.0013_text_search`) folds with the `unaccent` extension, turns what is not a letter or a digit
  into a space and makes a tsvector of the words. Cases keep it in a stored generated column, `search_words`, with a
  GIN index over the words and the case's agency (`case_agency_words_idx`, migration `cases.0016`): a million
  cases are searched through the index, within the user's agencies, and a list read in date order checks each case against
  the stored words without folding its text again. The registries (organisations, permits, establishments,
  campaigns) are small and make their words as they are read, only for the rows whose folded text holds the
  query's longest word.
* **SQLite** (the embedded mode): the same comparison in Python (`words_match`), registered on every connection as
  `sttt_words_match`.

The query is folded in Python for both (`fold`), so its words reach SQL as letters and digits only.
"""

import re
import unicodedata
from collections.abc import Sequence
from functools import reduce
from operator import or_

from django.db.backends.signals import connection_created
from django.db.models import Expression, Func, Lookup, Q, TextField

# Letters that are not a base letter plus combining marks, folded as PostgreSQL's unaccent.rules folds them.
_LETTERS = str.maketrans({"đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L",
                          "ß": "ss", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ı": "i"})
_WORD = re.compile(r"[^\W_]+")  # letters and digits; everything else separates words
_TERM = re.compile(r"([^\W_]+)(\*?)")  # a word of a query, and whether it ends in * (the start of a word)

# The generated column of cases_case (migration 0013) and the fields it is made of, in the same order.
STORED_COLUMN = "search_words"
CASE_WORDS = ("subject_name", "summary")


def fold(text: str) -> str:
    """`text` without diacritics, đ as d, in lower case: "Đức Phát" → "duc phat"."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_LETTERS))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def words(text: str) -> list[str]:
    """The folded words of `text`: "Công ty TNHH Minh-Phát" → ["cong", "ty", "tnhh", "minh", "phat"]."""
    return _WORD.findall(fold(text))


def query_terms(value: str) -> list[str]:
    """The words of a query as the search compares them: folded, a word that ends in * keeping its star
    ("Minh Ph*" → ["minh", "ph*"])."""
    return [word + star for word, star in _TERM.findall(fold(value))]


def tsquery(terms: Sequence[str]) -> str:
    """PostgreSQL's form of the terms: "minh & ph:*" for ["minh", "ph*"]."""
    return " & ".join(f"{term[:-1]}:*" if term.endswith("*") else term for term in terms)


def words_match(text: str | None, terms: str) -> bool:
    """Whether `text` holds every term (space-separated, from `query_terms`): a word, or the start of a word for a
    term that ends in *. The Python twin of `f_search_words(text) @@ to_tsquery(...)`, for SQLite."""
    if text is None or not terms:
        return False
    held = set(words(text))
    return all(any(word.startswith(term[:-1]) for word in held) if term.endswith("*") else term in held
               for term in terms.split())


class Joined(Func):
    """Fields as one text, separated by a space: `"subject_name" || ' ' || "summary"` (the fields must be NOT NULL:
    one NULL makes the whole text NULL)."""

    template = "(%(expressions)s)"
    arg_joiner = " || ' ' || "
    output_field = TextField()


class StoredCaseWords(Expression):
    """A case's words. PostgreSQL: the stored column `search_words` of the cases table (generated from
    `CASE_WORDS`), with the case's agency as one more word (`@agency<id>`) when `agency_ids` is given: the query then
    asks for one of those agencies too, and the GIN index over both (`case_agency_words_idx`, migration
    `cases.0016`) finds one agency's matches among several agencies' without reading the others' (bench.agencies:
    the search of one agency among ten, 18 → 3.5 ms in SQL). Elsewhere the text of `CASE_WORDS`. Only in a query on
    cases themselves; the agency condition of the query stays (the word narrows the index scan, it does not
    decide what a user sees)."""

    output_field = TextField()

    def __init__(self, agency_ids: Sequence[int] | None = None):
        super().__init__()
        self.text = Joined(*CASE_WORDS)
        self.alias = None
        self.agency_ids = tuple(sorted(int(pk) for pk in agency_ids)) if agency_ids is not None else None

    def get_source_expressions(self):
        return [self.text]

    def set_source_expressions(self, exprs):
        (self.text,) = exprs

    def resolve_expression(self, query=None, allow_joins=True, reuse=None, summarize=False, for_save=False):
        resolved = super().resolve_expression(query, allow_joins, reuse, summarize, for_save)
        resolved.alias = query.get_initial_alias()
        return resolved

    def relabeled_clone(self, change_map):
        clone = super().relabeled_clone(change_map)
        clone.alias = change_map.get(self.alias, self.alias)
        return clone

    def as_sql(self, compiler, connection):
        return compiler.compile(self.text)

    def as_postgresql(self, compiler, connection):
        table = compiler.quote_name_unless_alias(self.alias)
        column = f"{table}.{connection.ops.quote_name(STORED_COLUMN)}"
        if self.agency_ids is None:
            return column, []
        # Written exactly as the index expression (migration cases.0016), so that the planner uses the index.
        return f"({column} || array_to_tsvector(ARRAY[('@agency'::text || ({table}.\"agency_id\")::text)]))", []

    def agency_tsquery(self) -> str:
        """"'@agency1' | '@agency3'": one of the agencies' words; "" without agencies."""
        return " | ".join(f"'@agency{pk}'" for pk in self.agency_ids or ())


class WordsMatch(Lookup):
    """`lhs` holds the terms (space-separated, from `query_terms`). `lhs` is `StoredCaseWords()`, or `Joined(...)`
    fields whose words are made as the row is read."""

    lookup_name = "sttt_words_match"
    prepare_rhs = False

    def as_sql(self, compiler, connection):  # SQLite and any other backend: the Python comparison
        lhs, params = compiler.compile(self.lhs)
        return f"sttt_words_match({lhs}, %s)", (*params, self.rhs)

    def as_postgresql(self, compiler, connection):
        terms = self.rhs.split()
        lhs, params = compiler.compile(self.lhs)
        if isinstance(self.lhs, StoredCaseWords):
            if self.lhs.agency_ids is not None:
                if not self.lhs.agency_ids:
                    return "FALSE", []
                # The agencies' words are lexemes as written (a cast, not to_tsquery's parser, which drops "@").
                return (f"{lhs} @@ (to_tsquery('simple'::regconfig, %s) && (%s)::tsquery)",
                        (*params, tsquery(terms), self.lhs.agency_tsquery()))
            return f"{lhs} @@ to_tsquery('simple'::regconfig, %s)", (*params, tsquery(terms))
        # Making a row's words costs 10-50 µs; folding it alone, 1-3. A row whose folded text does not even hold the
        # longest term as a substring cannot match, so only the others get their words made.
        longest = max((term.rstrip("*") for term in terms), key=len)
        return (f"(lower(public.unaccent('public.unaccent'::regdictionary, {lhs})) LIKE %s"
                f" AND f_search_words({lhs}) @@ to_tsquery('simple'::regconfig, %s))",
                (*params, f"%{longest}%", *params, tsquery(terms)))


def search_q(value: str, *, words_in: Sequence[str] | Expression, codes: Sequence[str] = ()) -> Q:
    """Rows whose words (`words_in`: field names, which may follow relations, NOT NULL; or `StoredCaseWords()`)
    hold the words of `value`, or whose code fields `codes` hold `value` as typed."""
    value = value.strip()
    conditions = [Q(**{f"{field}__icontains": value}) for field in codes if value]
    terms = query_terms(value)
    if terms:
        lhs = words_in if isinstance(words_in, Expression) else Joined(*words_in)
        conditions.append(Q(WordsMatch(lhs, " ".join(terms))))
    return reduce(or_, conditions) if conditions else Q(pk__in=[])


def _sqlite_functions(sender, connection, **kwargs) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_function("sttt_words_match", 2, words_match, deterministic=True)


def sqlite_functions_install() -> None:
    """The embedded mode's SQLite gets `sttt_words_match` on every connection it opens."""
    connection_created.connect(_sqlite_functions, dispatch_uid="cases.search.sqlite_functions")
