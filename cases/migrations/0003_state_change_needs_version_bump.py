"""The database refuses a state change that does not bump the version: only the workflow service does both,
so an ORM bypass (Case(pk=…, state=…).save(), _base_manager.update, raw SQL) cannot move a case."""

from django.db import migrations

PG = """
CREATE OR REPLACE FUNCTION cases_case_state_guard() RETURNS trigger AS $$
BEGIN
    IF NEW.state IS DISTINCT FROM OLD.state AND NEW.version <= OLD.version THEN
        RAISE EXCEPTION 'cases_case.state changes only through a workflow transition (version must increase)';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER cases_case_state_guard BEFORE UPDATE ON cases_case
    FOR EACH ROW EXECUTE FUNCTION cases_case_state_guard();
"""
PG_DROP = """
DROP TRIGGER IF EXISTS cases_case_state_guard ON cases_case;
DROP FUNCTION IF EXISTS cases_case_state_guard();
"""
SQLITE = (
    "CREATE TRIGGER cases_case_state_guard BEFORE UPDATE OF state ON cases_case "
    "WHEN NEW.state IS NOT OLD.state AND NEW.version <= OLD.version "
    "BEGIN SELECT RAISE(ABORT, 'cases_case.state changes only through a workflow transition'); END;"
)


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_DROP)
    elif vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS cases_case_state_guard")


class Migration(migrations.Migration):
    dependencies = [("cases", "0002_catalogue_roles_timeline_guard")]
    operations = [migrations.RunPython(forwards, backwards)]
