"""The department's roles, the catalogue of DESIGN.md, and a database guard that keeps the timeline append-only."""

import datetime

from django.db import migrations

ROLES = ["licensing_officer", "department_head", "inspector", "inspection_lead", "reporter", "administrator"]

# code, Vietnamese name, English name, domain, order, prefix, result unit, limit, unit, legal basis (2019)
CATALOGUE = [
    ("press_conference", "Cho phép họp báo", "Permission to hold a press conference", "licensing", 1, "HB",
     "VB", 12, "hours", "Luật Báo chí 2016, Điều 41 (thông báo trước ít nhất 24 giờ; trả lời trong 12 giờ)"),
    ("bulletin", "Cấp giấy phép xuất bản bản tin", "Licence to publish a bulletin", "licensing", 2, "BT",
     "GP", 30, "calendar_days", "Luật Báo chí 2016, Điều 34"),
    ("printing_licence", "Cấp giấy phép hoạt động in", "Printing activity licence", "licensing", 3, "GPIN",
     "GP", 15, "working_days", "Nghị định 60/2014/NĐ-CP; Nghị định 25/2018/NĐ-CP"),
    ("print_registration", "Đăng ký hoạt động cơ sở in", "Registration of a print facility", "licensing", 4, "DKIN",
     "VB", 3, "working_days", "Nghị định 60/2014/NĐ-CP, Điều 14; Nghị định 25/2018/NĐ-CP"),
    ("noncommercial_publication", "Cấp giấy phép xuất bản tài liệu không kinh doanh",
     "Licence to publish non-commercial materials", "licensing", 5, "XBTL",
     "GP", 15, "calendar_days", "Luật Xuất bản 2012, Điều 25"),
    ("publication_import", "Cấp giấy phép nhập khẩu xuất bản phẩm không kinh doanh",
     "Licence to import publications for non-commercial purposes", "licensing", 6, "NKXB",
     "GP", 15, "calendar_days", "Luật Xuất bản 2012, Điều 38"),
    ("prepaid_sim", "Kiểm tra thông tin thuê bao di động trả trước", "Inspection of prepaid subscriber information",
     "inspection", 1, "KTTB", "", None, "", "Nghị định 174/2013/NĐ-CP; từ 2020: Nghị định 15/2020/NĐ-CP"),
    ("internet_service", "Kiểm tra cung cấp, sử dụng dịch vụ Internet", "Inspection of Internet service provision",
     "inspection", 2, "KTNET", "", None, "", "Nghị định 15/2020/NĐ-CP"),
    ("bts_station", "Kiểm tra xây dựng, lắp đặt, vận hành trạm BTS",
     "Inspection of BTS construction, installation and operation", "inspection", 3, "KTBTS", "", None, "",
     "Nghị định 15/2020/NĐ-CP"),
    ("publication_distribution", "Kiểm tra hoạt động phát hành xuất bản phẩm",
     "Inspection of the distribution of publications", "inspection", 4, "KTPH", "", None, "",
     "Nghị định 159/2013/NĐ-CP; từ 2021: Nghị định 119/2020/NĐ-CP"),
    ("printing", "Kiểm tra hoạt động in", "Inspection of printing activity", "inspection", 5, "KTIN", "", None, "",
     "Nghị định 159/2013/NĐ-CP; từ 2021: Nghị định 119/2020/NĐ-CP"),
    ("conformity_labelling", "Kiểm tra công bố hợp quy, dán nhãn thiết bị viễn thông, CNTT",
     "Inspection of conformity marks and labels of telecom and IT equipment", "inspection", 6, "KTHQ", "", None,
     "", "Nghị định 15/2020/NĐ-CP"),
]
EFFECTIVE_FROM = datetime.date(2015, 1, 1)

TIMELINE_GUARD = """
CREATE OR REPLACE FUNCTION cases_event_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'cases_caseevent is append-only: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER cases_event_append_only BEFORE UPDATE OR DELETE ON cases_caseevent
    FOR EACH ROW EXECUTE FUNCTION cases_event_append_only();
"""
TIMELINE_GUARD_SQLITE = [
    "CREATE TRIGGER cases_event_no_update BEFORE UPDATE ON cases_caseevent "
    "BEGIN SELECT RAISE(ABORT, 'cases_caseevent is append-only'); END;",
    "CREATE TRIGGER cases_event_no_delete BEFORE DELETE ON cases_caseevent "
    "BEGIN SELECT RAISE(ABORT, 'cases_caseevent is append-only'); END;",
]
TIMELINE_GUARD_DROP = """
DROP TRIGGER IF EXISTS cases_event_append_only ON cases_caseevent;
DROP FUNCTION IF EXISTS cases_event_append_only();
"""


def load(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    CaseType = apps.get_model("cases", "CaseType")
    CaseTypeTerms = apps.get_model("cases", "CaseTypeTerms")
    for name in ROLES:
        Group.objects.get_or_create(name=name)
    for code, name_vi, name_en, domain, order, prefix, unit, amount, limit_unit, basis in CATALOGUE:
        case_type, _ = CaseType.objects.update_or_create(
            code=code,
            defaults={"name_vi": name_vi, "name_en": name_en, "domain": domain, "report_order": order,
                      "reference_prefix": prefix},
        )
        CaseTypeTerms.objects.get_or_create(
            case_type=case_type, effective_from=EFFECTIVE_FROM,
            defaults={"result_unit": unit, "limit_amount": amount, "limit_unit": limit_unit, "legal_basis": basis},
        )
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TIMELINE_GUARD, params=None)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in TIMELINE_GUARD_SQLITE:
            schema_editor.execute(statement)


def unload(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TIMELINE_GUARD_DROP)
    elif schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS cases_event_no_update")
        schema_editor.execute("DROP TRIGGER IF EXISTS cases_event_no_delete")


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(load, unload)]
