# Text search by words, accent- and case-insensitive (cases/search.py). Written by hand; PostgreSQL only: the embedded
# SQLite compares words in Python.

from django.db import migrations

# `unaccent()` is STABLE (it finds its dictionary by name when it runs), so neither an index nor a generated column
# may use it. This wrapper names the dictionary and the function by schema and is IMMUTABLE, the usual pattern. It
# also turns what is not a letter or a digit into a space, so that words are split as cases/search.py splits a query
# ("Minh.Phát", "A-12/3"), and makes the tsvector of the words ('simple': lower case, no stemming, no stop words;
# without their positions, which no search here uses: 110 bytes a case instead of 170).
FUNCTION = r"""
CREATE OR REPLACE FUNCTION f_search_words(text) RETURNS tsvector
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT pg_catalog.strip(pg_catalog.to_tsvector('pg_catalog.simple'::regconfig, pg_catalog.regexp_replace(
        public.unaccent('public.unaccent'::regdictionary, $1), '[^[:alnum:]]+', ' ', 'g')))
$$
"""
# A case's words, stored (cases.search.CASE_WORDS, STORED_COLUMN): folding a text costs some 10-50 µs, so a list
# that reads cases in date order and checks each one (a search matching many cases) must not fold every case it
# passes. The column is not a model field: Django never writes it, PostgreSQL keeps it.
# Keep in mind: PostgreSQL refuses to change the type of subject_name or summary while this column uses them (a
# migration altering them drops the column first and adds it again after).
COLUMN = """ALTER TABLE cases_case ADD COLUMN IF NOT EXISTS search_words tsvector
            GENERATED ALWAYS AS (f_search_words(("subject_name" || ' ' || "summary"))) STORED"""
INDEX = "CREATE INDEX IF NOT EXISTS case_search_words_idx ON cases_case USING gin (search_words)"


def text_search_create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public")
    schema_editor.execute(FUNCTION)
    schema_editor.execute(COLUMN)
    schema_editor.execute(INDEX)


def text_search_drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("ALTER TABLE cases_case DROP COLUMN IF EXISTS search_words")  # and its index
    schema_editor.execute("DROP FUNCTION IF EXISTS f_search_words(text)")


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0012_case_agency_required"),
    ]

    operations = [
        migrations.RunPython(text_search_create, text_search_drop),
    ]
