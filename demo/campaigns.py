"""Inspection campaigns of the seed report's Q4/2019 (section I.4), made through the services with the clock set
back: prepaid SIM checks at Viettel, VNPT and Mobifone; Internet agents in Đồng Tiên; calendar distributors;
15 print shops and 2 photocopy shops (reminders and one violation → sanction → corrected)."""

import io
import uuid
from datetime import date, datetime, timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from inspections import services
from inspections.models import Campaign, Establishment, SanctionProvision

from .clock import HCM, at

NOT_FOR_PHOTOCOPY = {"licence", "equipment_declared", "register_book", "order_documents", "manager_training"}


def _photo(n: int) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), ((n * 37) % 255, 90, 140)).save(buffer, "JPEG")
    return SimpleUploadedFile(f"anh-{n}.jpg", buffer.getvalue(), "image/jpeg")


class DemoCampaigns:
    # Where the establishments are: (degrees, ten-thousandths) of latitude and longitude (TP Thái Bình).
    origin = ((20, 4400), (106, 3300))

    def __init__(self, *, lead, inspectors, head):
        self.lead, self.inspectors, self.head = lead, inspectors, head
        self.photos = 0

    def establishment(self, n: int, kind: str, name: str, address: str, **extra) -> Establishment:
        (lat, lat_base), (lon, lon_base) = self.origin
        # Spread over a few kilometres around the origin (a fixed pattern), so that the office's map shows them apart.
        lat_base += ((n * 37) % 61 - 30) * 8
        lon_base += ((n * 53) % 61 - 30) * 8
        return services.establishment_create(actor=self.lead, kind=kind, name=name, address=address,
                                             latitude=f"{lat}.{lat_base:04d}", longitude=f"{lon}.{lon_base:04d}",
                                             **extra)

    def campaign(self, code: str, title: str, basis: str, start: date, establishments, *,
                 reminders: dict[int, tuple[str, str]] = None, violation: tuple[int, str, str] | None = None,
                 sanction: tuple[int, str, str] = (7_500_000, "Buộc tiêu hủy ấn phẩm in trái phép.",
                                                   "Cơ sở đã tiêu hủy ấn phẩm và hoàn thiện thủ tục."),
                 provision: str | None = None) -> Campaign:
        """One campaign from plan to close; `sanction`: the fine, remedial measures and the correction's note of
        the violation. With `provision` (a key of the sanctions catalogue, in force on the day of the violation)
        the violation record cites it against the establishment's organisation, the fine is that provision's (it
        must lie in its range for an organisation) and the remedial measures are the provision's, not
        `sanction[1]`."""
        reminders = reminders or {}
        first = datetime(start.year, start.month, start.day, 8, 0, tzinfo=HCM)
        with at(first - timedelta(days=7)):
            campaign, _ = services.campaign_plan(
                actor=self.lead, case_type=code, title=title, legal_basis=basis, period_start=start,
                period_end=start + timedelta(days=4), lead=self.lead, members=self.inspectors,
                scope=f"{len(establishments)} cơ sở trên địa bàn tỉnh",
                targets=[services.TargetPlan(establishment=e, inspectors=(self.inspectors[i % len(self.inspectors)],),
                                             planned_on=start) for i, e in enumerate(establishments)])
            services.campaign_transition(actor=self.lead, campaign_id=campaign.pk, action="announce")
        with at(first):
            services.campaign_transition(actor=self.lead, campaign_id=campaign.pk, action="start_fieldwork")
        items = list(campaign.checklist.items.order_by("order"))
        for index, target in enumerate(campaign.targets.select_related("establishment").order_by("pk")):
            inspector = target.inspectors.first()
            visit = first + timedelta(hours=1 + index // 4, minutes=(index % 4) * 15)
            wrong = dict([reminders[index]]) if index in reminders else {}
            if violation and violation[0] == index:
                wrong = {violation[1]: violation[2]}
            with at(visit):
                for item in items:
                    if target.establishment.kind == Establishment.Kind.PHOTOCOPY_SHOP and item.code in NOT_FOR_PHOTOCOPY:
                        result, note = "not_applicable", ""
                    elif item.code == "photocopy_declared" and target.establishment.kind == Establishment.Kind.PRINT_SHOP:
                        result, note = "not_applicable", ""
                    elif item.code in wrong:
                        result, note = "violation", wrong[item.code]
                    else:
                        result, note = "compliant", ""
                    finding, _ = services.finding_submit(
                        actor=inspector, uuid=uuid.uuid4(), target_id=target.pk, item_id=item.pk, result=result,
                        device_time=visit, note=note, latitude=target.establishment.latitude,
                        longitude=target.establishment.longitude, accuracy=10)
                    if item.photo_required and result != "not_applicable":
                        self.photos += 1
                        services.photo_add(actor=inspector, uuid=uuid.uuid4(), finding_id=finding.pk,
                                           upload=_photo(self.photos))
                if violation and violation[0] == index:
                    services.target_outcome_set(actor=inspector, target_id=target.pk, outcome="violation",
                                                violation_description=violation[2])
                elif index in reminders:
                    services.target_outcome_set(actor=inspector, target_id=target.pk, outcome="reminder",
                                                note=reminders[index][1])
                else:
                    services.target_outcome_set(actor=inspector, target_id=target.pk, outcome="compliant")
        if violation:
            target = campaign.targets.order_by("pk")[violation[0]]
            record = target.violation
            with at(first + timedelta(days=3)):
                if provision:
                    cited = SanctionProvision.objects.get(key=provision)
                    owner = target.establishment.operator or target.establishment.name
                    services.violation_offender_set(actor=self.lead, violation_id=record.pk,
                                                    offender_kind="organisation", offender_name=owner,
                                                    provision_ids=[cited.pk])
                    services.sanction_decide(actor=self.head, sanction_id=record.sanction.pk,
                                             fines={cited.pk: sanction[0]}, remedial_measures=cited.remedial_measures)
                else:
                    services.sanction_decide(actor=self.head, sanction_id=record.sanction.pk, fine_vnd=sanction[0],
                                             remedial_measures=sanction[1])
                follow_up = services.follow_up_record(actor=self.lead, violation_id=record.pk,
                                                      correction_due_on=start + timedelta(days=20))
            with at(first + timedelta(days=15)):
                services.follow_up_done(actor=self.lead, follow_up_id=follow_up.pk, done_note=sanction[2])
        with at(first + timedelta(days=16)):
            services.campaign_transition(actor=self.lead, campaign_id=campaign.pk, action="close_findings")
            services.campaign_conclude(actor=self.lead, campaign_id=campaign.pk,
                                       conclusion="Các cơ sở cơ bản chấp hành quy định; đã nhắc nhở, xử lý vi phạm.")
            services.campaign_transition(actor=self.lead, campaign_id=campaign.pk, action="close")
        return campaign

    def build(self) -> int:
        operators = [self.establishment(i, Establishment.Kind.OPERATOR_BRANCH, name, address, operator=op)
                     for i, (name, address, op) in enumerate([
                         ("Viettel Thái Bình", "Số 2 Lý Thường Kiệt, TP Thái Bình", "Viettel"),
                         ("Viễn thông Thái Bình", "Số 1 Trần Hưng Đạo, TP Thái Bình", "VNPT"),
                         ("Mobifone Thái Bình", "Số 18 Quang Trung, TP Thái Bình", "Mobifone")])]
        self.campaign("prepaid_sim", "Kiểm tra thông tin thuê bao di động trả trước quý IV/2019",
                      "Nghị định 49/2017/NĐ-CP; Nghị định 174/2013/NĐ-CP", date(2019, 10, 14), operators)
        agents = [self.establishment(10 + i, Establishment.Kind.INTERNET_AGENT, f"Đại lý Internet Đồng Tiên {i + 1}",
                                     "Xã Đồng Tiên, huyện Quỳnh Phụ") for i in range(3)]
        self.campaign("internet_service", "Kiểm tra cung cấp, sử dụng dịch vụ Internet tại xã Đồng Tiên",
                      "Nghị định 72/2013/NĐ-CP; Nghị định 174/2013/NĐ-CP", date(2019, 11, 4), agents)
        sellers = [self.establishment(20 + i, Establishment.Kind.PUBLICATION_DISTRIBUTOR, f"Cửa hàng sách, lịch {name}",
                                      f"Phố {name}, TP Thái Bình")
                   for i, name in enumerate(["Hai Bà Trưng", "Lê Lợi", "Ngô Quyền", "Trần Thái Tông"])]
        self.campaign("publication_distribution", "Kiểm tra phát hành xuất bản phẩm, lịch Bloc 2020",
                      "Luật Xuất bản 2012; Nghị định 159/2013/NĐ-CP", date(2019, 12, 2), sellers,
                      reminders={1: ("publication_info", "Lịch bày bán thiếu thông tin ghi trên xuất bản phẩm.")})
        shops = [self.establishment(30 + i, Establishment.Kind.PRINT_SHOP if i < 15 else Establishment.Kind.PHOTOCOPY_SHOP,
                                    f"Cơ sở in số {i + 1}" if i < 15 else f"Cửa hàng photocopy số {i - 14}",
                                    f"Số {i + 3} đường Trần Hưng Đạo, TP Thái Bình") for i in range(17)]
        self.campaign("printing", "Kiểm tra hoạt động in tại 15 cơ sở in và 02 cơ sở photocopy",
                      "Luật Xuất bản 2012; Nghị định 60/2014/NĐ-CP; Nghị định 25/2018/NĐ-CP", date(2019, 12, 9), shops,
                      reminders={3: ("register_book", "Sổ quản lý ấn phẩm nhận in ghi chép chưa đầy đủ."),
                                 16: ("photocopy_declared", "Chưa khai báo hoạt động photocopy với Sở.")},
                      violation=(7, "licence", "Hoạt động in khi chưa đăng ký với Sở; in lịch không có giấy phép."))
        return Campaign.objects.count()
