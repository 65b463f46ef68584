"""What each of the six procedures asks for: dossier fields (validated), required files, and its result document."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers


class EquipmentItem(serializers.Serializer):
    name = serializers.CharField(max_length=200, label=_("equipment"))
    quantity = serializers.IntegerField(min_value=1, label=_("quantity"))


class ImportTitle(serializers.Serializer):
    title = serializers.CharField(max_length=300, label=_("title"))
    quantity = serializers.IntegerField(min_value=1, label=_("quantity"))
    origin = serializers.CharField(max_length=100, label=_("country of origin"))


class PressConferenceFields(serializers.Serializer):
    organiser = serializers.CharField(max_length=300, label=_("organiser"))
    chairperson = serializers.CharField(max_length=200, label=_("chairperson"))
    event_at = serializers.DateTimeField(label=_("date and time of the press conference"))
    venue = serializers.CharField(max_length=300, label=_("venue"))
    content = serializers.CharField(max_length=5000, label=_("content"))
    expected_press = serializers.ListField(child=serializers.CharField(max_length=200), allow_empty=False,
                                           label=_("press agencies expected"))


class BulletinFields(serializers.Serializer):
    publisher = serializers.CharField(max_length=300, label=_("publishing organisation"))
    bulletin_name = serializers.CharField(max_length=300, label=_("bulletin name"))
    purpose = serializers.CharField(max_length=2000, label=_("purpose"))
    periodicity = serializers.CharField(max_length=100, label=_("periodicity"))
    pages = serializers.IntegerField(min_value=1, max_value=2000, label=_("pages"))
    copies = serializers.IntegerField(min_value=1, max_value=1_000_000, label=_("copies per issue"))
    format = serializers.CharField(max_length=100, label=_("format"))
    printing_place = serializers.CharField(max_length=300, label=_("place of printing"))
    responsible_person = serializers.CharField(max_length=200, label=_("person responsible"))


class PrintingFacilityFields(serializers.Serializer):
    facility_name = serializers.CharField(max_length=300, label=_("print facility"))
    facility_address = serializers.CharField(max_length=500, label=_("address"))
    owner = serializers.CharField(max_length=200, label=_("owner"))
    equipment = EquipmentItem(many=True, allow_empty=False, label=_("equipment"))
    products = serializers.CharField(max_length=2000, label=_("products"))


class NoncommercialPublicationFields(serializers.Serializer):
    publisher_organisation = serializers.CharField(max_length=300, label=_("publishing organisation"))
    title = serializers.CharField(max_length=500, label=_("title"))
    author = serializers.CharField(max_length=300, label=_("author"))
    language = serializers.CharField(max_length=50, label=_("language"))
    pages = serializers.IntegerField(min_value=1, max_value=10_000, label=_("pages"))
    copies = serializers.IntegerField(min_value=1, max_value=10_000_000, label=_("copies"))
    printing_facility = serializers.CharField(max_length=300, label=_("printing facility"))


class PublicationImportFields(serializers.Serializer):
    importer = serializers.CharField(max_length=300, label=_("importer"))
    titles = ImportTitle(many=True, allow_empty=False, label=_("titles"))
    purpose = serializers.CharField(max_length=2000, label=_("purpose"))


@dataclass(frozen=True)
class Procedure:
    code: str
    fields: type[serializers.Serializer]
    required_files: tuple[tuple[str, str], ...]  # (attachment kind, label)
    result_title: str
    refusal_title: str
    holder_field: str | None = None  # a facility procedure links its permit to a PrintFacility

    def fields_validate(self, data, *, received_at: datetime | None = None) -> dict:
        serializer = self.fields(data=data)
        serializer.is_valid(raise_exception=True)
        value = dict(serializer.validated_data)
        if self.code == "press_conference" and received_at is not None:
            # Luật Báo chí 2016, Art. 41: the notice must arrive at least 24 hours before the event.
            if value["event_at"] - received_at < timedelta(hours=24):
                raise serializers.ValidationError(
                    {"event_at": [_("The notice must arrive at least 24 hours before the press conference.")]})
        return serializers.JSONField().to_representation(self.fields(value).data)

    def labels(self) -> dict[str, str]:
        return {name: str(field.label) for name, field in self.fields().fields.items()}


PROCEDURES = {
    p.code: p
    for p in (
        Procedure("press_conference", PressConferenceFields, (),
                  "VĂN BẢN TRẢ LỜI THÔNG BÁO TỔ CHỨC HỌP BÁO", "VĂN BẢN TỪ CHỐI TỔ CHỨC HỌP BÁO"),
        Procedure("bulletin", BulletinFields, (("layout_sample", _("Layout sample of the bulletin")),),
                  "GIẤY PHÉP XUẤT BẢN BẢN TIN", "VĂN BẢN TỪ CHỐI CẤP GIẤY PHÉP XUẤT BẢN BẢN TIN"),
        Procedure("printing_licence", PrintingFacilityFields,
                  (("equipment_documents", _("Papers proving the printing equipment")),),
                  "GIẤY PHÉP HOẠT ĐỘNG IN", "VĂN BẢN TỪ CHỐI CẤP GIẤY PHÉP HOẠT ĐỘNG IN", holder_field="facility"),
        Procedure("print_registration", PrintingFacilityFields, (("declaration", _("Registration declaration")),),
                  "XÁC NHẬN ĐĂNG KÝ HOẠT ĐỘNG CƠ SỞ IN", "VĂN BẢN TỪ CHỐI ĐĂNG KÝ HOẠT ĐỘNG CƠ SỞ IN",
                  holder_field="facility"),
        Procedure("noncommercial_publication", NoncommercialPublicationFields, (("manuscript", _("Manuscript")),),
                  "GIẤY PHÉP XUẤT BẢN TÀI LIỆU KHÔNG KINH DOANH",
                  "VĂN BẢN TỪ CHỐI CẤP GIẤY PHÉP XUẤT BẢN TÀI LIỆU KHÔNG KINH DOANH"),
        Procedure("publication_import", PublicationImportFields,
                  (("shipping_documents", _("Shipping documents")),),
                  "GIẤY PHÉP NHẬP KHẨU XUẤT BẢN PHẨM KHÔNG KINH DOANH",
                  "VĂN BẢN TỪ CHỐI CẤP GIẤY PHÉP NHẬP KHẨU XUẤT BẢN PHẨM KHÔNG KINH DOANH"),
    )
}
ATTACHMENT_KINDS = sorted({kind for p in PROCEDURES.values() for kind, _label in p.required_files} | {"other"})
