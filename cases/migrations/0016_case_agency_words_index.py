# The case search within the user's agencies (cases/search.py, StoredCaseWords(agency_ids)). Written by hand;
# PostgreSQL only (the embedded SQLite compares words in Python).
#
# One GIN index over a case's words plus its agency as one more word ("@agency<id>"): a search asks for the words
# and for one of the user's agencies in one index scan, so that where one installation holds several agencies a
# user of one of them never reads the others' matches (bench.agencies: one agency among ten, 18 → 3.5 ms in SQL,
# where the planner otherwise ANDs the words' bitmap with the agency's 100,000 rows). The index of the words
# alone (0013) stays: a user who sees most of the cases (one department's installation) searches the words alone,
# since asking a GIN index for an agency that holds nearly every case costs more than it saves (1 × 1M: 2.7 ms
# for the words alone, 11 ms with the agency; cases.selectors.text_search_q chooses from PostgreSQL's statistics).

from django.db import migrations

EXPRESSION = "(search_words || array_to_tsvector(ARRAY[('@agency'::text || (agency_id)::text)]))"


def index_create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"CREATE INDEX IF NOT EXISTS case_agency_words_idx ON cases_case USING gin ({EXPRESSION})")


def index_drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS case_agency_words_idx")


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0015_agency_received_with_type"),
    ]

    operations = [
        migrations.RunPython(index_create, index_drop),
    ]
