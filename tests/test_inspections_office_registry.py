"""The office's registry pages: filters and agency scoping, the import (bad rows: nothing stored; a good file:
every row), the commune read from the address, and the map drawing points where their coordinates put them."""

import io
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from openpyxl import Workbook

from agencies.models import Agency
from cases import roles as r
from inspections.communes import commune_from_address
from inspections.models import Establishment, Target

from .factories import UserFactory
from .support_inspections import campaign_make, checklists_load, shop

CULTURE, SCIENCE = "hung-yen-svhttdl", "hung-yen-skhcn"
HEADER = "Loại cơ sở,Tên cơ sở,Địa chỉ,Doanh nghiệp,Mã trạm,Vĩ độ,Kinh độ\n"


@pytest.fixture(autouse=True)
def checklists(catalogue):
    checklists_load()


@pytest.fixture
def culture_lead(db):
    return UserFactory(roles=[r.INSPECTION_LEAD], agencies=[CULTURE])


@pytest.fixture
def science_lead(db):
    return UserFactory(roles=[r.INSPECTION_LEAD], agencies=[SCIENCE])


def agency(code):
    return Agency.objects.get(code=code)


def listed(client, query="") -> list[int]:
    response = client.get(f"/registry/{query}")
    assert response.status_code == 200
    return [int(x) for x in re.findall(r'<tr data-id="(\d+)"', response.content.decode())]


def test_commune_is_read_from_the_address():
    assert commune_from_address("Số 5 Lê Lợi, Phường Phố Hiến, tỉnh Hưng Yên") == "Phường Phố Hiến"
    assert commune_from_address("Xã Đồng Tiên, huyện Quỳnh Phụ") == "Xã Đồng Tiên"
    assert commune_from_address("thị trấn  Diêm Điền, Thái Thụy") == "Thị trấn Diêm Điền"
    assert commune_from_address("Số 2 Lý Thường Kiệt, TP Thái Bình") == ""


@pytest.mark.django_db
def test_registry_lists_only_the_agencies_entries_and_filters_them(client, culture_lead, science_lead, inspector):
    own = shop(1, agency=agency(CULTURE), commune="Phường Phố Hiến")
    photocopy = shop(2, Establishment.Kind.PHOTOCOPY_SHOP, agency=agency(CULTURE), commune="Xã Tân Hưng")
    archive = shop(3, agency=agency("thai-binh-svhttdl"), commune="Phường Trần Lãm")  # a predecessor's entry
    foreign = shop(4, Establishment.Kind.BTS_SITE, agency=agency(SCIENCE))

    client.force_login(culture_lead)
    assert set(listed(client)) == {own.pk, photocopy.pk, archive.pk}
    assert listed(client, "?kind=photocopy_shop") == [photocopy.pk]
    assert listed(client, "?commune=Ph%C6%B0%E1%BB%9Dng+Ph%E1%BB%91+Hi%E1%BA%BFn") == [own.pk]
    assert client.get(f"/registry/{foreign.pk}/").status_code == 404
    assert set(listed(client, "?inspected=never")) == {own.pk, photocopy.pk, archive.pk}

    client.force_login(science_lead)
    assert listed(client) == [foreign.pk]
    assert listed(client, "?operator=Viettel") == [foreign.pk]

    client.force_login(inspector)  # an inspector of every agency reads them all, writes none
    response = client.get(f"/registry/{own.pk}/")
    assert response.status_code == 200 and b'id="establishment-edit"' not in response.content
    assert client.post(f"/registry/{own.pk}/", {"kind": "print_shop", "name": "X", "address": "Y"}).status_code == 403
    officer = UserFactory(roles=[r.LICENSING_OFFICER])
    client.force_login(officer)
    assert client.get("/registry/").status_code == 403
    assert client.get("/registry/map/").status_code == 403


@pytest.mark.django_db
def test_last_inspected_and_open_violations_filters(client, culture_lead):
    campaign = campaign_make(lead=culture_lead, shops=2, agency=agency(CULTURE),
                             path=("announce", "start_fieldwork"))
    visited, other = [t for t in campaign.targets.order_by("pk")]
    Target.objects.filter(pk=visited.pk).update(visited_at=timezone.now() - timedelta(days=30))
    Target.objects.filter(pk=other.pk).update(visited_at=timezone.now() - timedelta(days=800))
    from inspections.models import ViolationRecord

    ViolationRecord.objects.create(target=other, year=2024, number=1, number_text="01/BB-VPHC", description="x",
                                   recorded_at=timezone.now(), recorded_by=culture_lead)
    client.force_login(culture_lead)
    assert listed(client, "?inspected=recent") == [visited.establishment_id]
    assert listed(client, "?inspected=24") == [other.establishment_id]
    assert listed(client, "?violations=yes") == [other.establishment_id]
    assert listed(client, "?violations=no") == [visited.establishment_id]


@pytest.mark.django_db
def test_lead_edits_an_entry_through_the_service(client, culture_lead):
    entry = shop(5, agency=agency(CULTURE))
    client.force_login(culture_lead)
    data = {"kind": "print_shop", "name": "Cơ sở in Minh Phát", "address": "Số 9 Điện Biên, Phường Phố Hiến",
            "commune": "", "operator": "", "site_code": "", "latitude": "20.650000", "longitude": "106.050000",
            "representative": "", "phone": "", "active": "on"}
    response = client.post(f"/registry/{entry.pk}/", data)
    assert response.status_code == 302
    entry.refresh_from_db()
    assert (entry.name, entry.commune) == ("Cơ sở in Minh Phát", "Phường Phố Hiến")
    # Half a position is refused by the service, with the field named; nothing changes.
    response = client.post(f"/registry/{entry.pk}/", {**data, "longitude": "", "name": "Đổi tên"})
    assert response.status_code == 200 and b"has-error" in response.content
    entry.refresh_from_db()
    assert entry.name == "Cơ sở in Minh Phát"


def _upload(client, content: bytes, name="danh-sach.csv", **extra):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post("/registry/import/", {"step": "preview", "file": SimpleUploadedFile(name, content), **extra})


@pytest.mark.django_db
def test_import_with_bad_rows_stores_nothing_and_names_each_error(client, science_lead):
    Establishment.objects.create(agency=agency(SCIENCE), kind="bts_site", name="Trạm cũ", address="x",
                                 operator="Viettel", site_code="HYN0001")
    rows = (HEADER
            + "Trạm BTS,Trạm BTS Viettel HYN0100,\"Phường Phố Hiến, tỉnh Hưng Yên\",Viettel,HYN0100,20.65,106.05\n"
            + "Trạm BTS,Trạm BTS Viettel HYN0001,\"Xã Tân Hưng\",Viettel,HYN0001,20.6,106.1\n"  # code taken
            + "Trạm BTS,,\"Xã Tân Hưng\",VNPT,HYN-1,20.6,106.1\n"  # no name
            + "Trạm BTS,Trạm BTS VNPT HYN-2,\"Xã Tân Hưng\",VNPT,HYN-2,20.6,\n"  # half a position
            + "Cột điện,Trạm X,\"Xã Tân Hưng\",VNPT,HYN-3,,\n"  # unknown kind
            + "Trạm BTS,Trạm BTS Viettel HYN0100 (lặp),\"Xã Tân Hưng\",Viettel,HYN0100,,\n")  # same code twice
    client.force_login(science_lead)
    response = _upload(client, rows.encode())
    body = response.content.decode()
    assert response.status_code == 200 and 'data-ok="0"' in body
    errors = re.findall(r'<tr data-row="(\d+)"><td>\d+</td><td>([^<]*)</td>', body)
    assert errors == [("3", "Mã trạm"), ("4", "Tên cơ sở"), ("5", "Vĩ độ"), ("6", "Loại cơ sở"), ("7", "Mã trạm")]
    assert Establishment.objects.count() == 1
    # Nothing to confirm: the confirm step refuses a file that was not previewed clean.
    response = client.post("/registry/import/", {"step": "confirm", "sha256": "0" * 64})
    assert response.status_code == 302 and Establishment.objects.count() == 1


@pytest.mark.django_db
def test_import_of_a_good_xlsx_stores_every_row_after_the_preview(client, science_lead):
    book = Workbook()
    sheet = book.active
    sheet.append(["STT", "Tên cơ sở", "Địa chỉ", "Doanh nghiệp", "Mã trạm", "Vĩ độ", "Kinh độ"])
    sheet.append([1, "Trạm BTS Viettel HYN0215", "Phường Phố Hiến, tỉnh Hưng Yên", "Viettel", "HYN0215", 20.6464,
                  106.0512])
    sheet.append([2, "Trạm BTS VNPT HYN-0488", "Xã Tân Hưng, tỉnh Hưng Yên", "VNPT", "HYN-0488", "20,6012",
                  "106,0833"])
    data = io.BytesIO()
    book.save(data)
    client.force_login(science_lead)
    response = _upload(client, data.getvalue(), name="bts.xlsx", default_kind="bts_site")
    body = response.content.decode()
    assert 'data-ok="1"' in body and Establishment.objects.count() == 0  # the preview stored nothing
    sha = re.search(r'name="sha256" value="([0-9a-f]{64})"', body).group(1)
    response = client.post("/registry/import/", {"step": "confirm", "sha256": sha})
    assert response.status_code == 302
    stored = {e.site_code: e for e in Establishment.objects.all()}
    assert set(stored) == {"HYN0215", "HYN-0488"}
    assert stored["HYN-0488"].commune == "Xã Tân Hưng" and str(stored["HYN-0488"].latitude) == "20.601200"
    assert {e.agency.code for e in stored.values()} == {SCIENCE} and {e.kind for e in stored.values()} == {"bts_site"}


@pytest.mark.django_db
def test_import_refuses_a_large_or_unreadable_file_before_reading_rows(client, science_lead, settings):
    client.force_login(science_lead)
    response = _upload(client, b"PK\x03\x04not a workbook", name="x.xlsx", default_kind="bts_site")
    assert response.status_code == 200 and b"has-error" in response.content
    response = _upload(client, HEADER.encode() + b"x" * (2 * 1024 * 1024 + 10))
    assert response.status_code == 200 and b"has-error" in response.content
    for name, content in (("so-lieu.pdf", b"%PDF-1.7 ..."), ("danh-sach.csv", b"\xd0\xcf\x11\xe0 an old .xls"),
                          ("danh-sach.xls", HEADER.encode())):
        response = _upload(client, content, name=name, default_kind="bts_site")
        assert response.status_code == 200 and b"has-error" in response.content, name
        assert b'id="import-preview"' not in response.content
    assert Establishment.objects.count() == 0


@pytest.mark.django_db
def test_map_places_points_by_their_coordinates(client, culture_lead):
    west = shop(11, agency=agency(CULTURE), latitude="20.650000", longitude="106.000000")
    east = shop(12, agency=agency(CULTURE), latitude="20.650000", longitude="106.500000")
    north = shop(13, agency=agency(CULTURE), latitude="20.900000", longitude="106.000000")
    shop(14, agency=agency(CULTURE), latitude=None, longitude=None)
    client.force_login(culture_lead)
    body = client.get("/registry/map/").content.decode()
    points = {int(i): (float(x), float(y)) for i, x, y in
              re.findall(r'data-id="(\d+)" data-status="[a-z-]+" data-x="([\d.]+)" data-y="([\d.]+)"', body)}
    assert set(points) == {west.pk, east.pk, north.pk}
    assert points[west.pk][0] < points[east.pk][0] and points[west.pk][1] == points[east.pk][1]
    assert points[north.pk][1] < points[west.pk][1] and points[north.pk][0] == points[west.pk][0]
    # Equirectangular with cos(lat): 0.5° of longitude is drawn cos(20.65°) × as long as 0.5° of latitude would be.
    dx = points[east.pk][0] - points[west.pk][0]
    dy_per_degree = (points[west.pk][1] - points[north.pk][1]) / 0.25
    assert abs(dx / (0.5 * dy_per_degree) - 0.9357) < 0.01
    assert '<path class="outline"' in body and "http" not in re.sub(r'xmlns="[^"]+"', "", body.split("<svg", 1)[1].split("</svg>")[0])


@pytest.mark.django_db
def test_the_shipped_example_file_previews_clean(client, head):
    """docs/establishment-import-example.csv: BTS sites go to the telecom agency's registry, the print shop to the
    culture agency's, each by its kind (the head works for every agency)."""
    from pathlib import Path

    data = (Path(__file__).resolve().parent.parent / "docs" / "establishment-import-example.csv").read_bytes()
    client.force_login(head)
    body = _upload(client, data, name="establishment-import-example.csv").content.decode()
    assert 'data-ok="1"' in body and 'data-rows="3"' in body
    sha = re.search(r'name="sha256" value="([0-9a-f]{64})"', body).group(1)
    assert client.post("/registry/import/", {"step": "confirm", "sha256": sha}).status_code == 302
    stored = {e.name: e for e in Establishment.objects.all()}
    assert stored["Trạm BTS Viettel HYN0301"].commune == "Xã Tân Hưng"  # "xã Tân Hưng" in the address
    assert stored["Cơ sở in Thành Công"].commune == "Phường Phố Hiến"
    assert {e.agency.code for e in stored.values() if e.kind == "bts_site"} == {SCIENCE}
    assert stored["Cơ sở in Thành Công"].agency.code == CULTURE
