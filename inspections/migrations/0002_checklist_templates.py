"""The checklists of the six inspection types, in Vietnamese, versioned by the sanctions decree in force.

Version 1 (from 2015) names the decrees of 2013 (NĐ 174/2013 for telecom and IT, NĐ 159/2013 for printing and
publications); version 2 names their successors from the day they took effect (NĐ 15/2020 from 15/04/2020,
NĐ 119/2020 from 01/12/2020). The questions cite the rules they check. load() is idempotent: tests that empty
the tables call it again.
"""

import datetime

from django.db import migrations

V1_FROM = datetime.date(2015, 1, 1)
ND15_FROM = datetime.date(2020, 4, 15)
ND119_FROM = datetime.date(2020, 12, 1)

ND174 = "Nghị định 174/2013/NĐ-CP"
ND15 = "Nghị định 15/2020/NĐ-CP"
ND159 = "Nghị định 159/2013/NĐ-CP"
ND119 = "Nghị định 119/2020/NĐ-CP"

SIM_RULES = "Nghị định 25/2011/NĐ-CP, Điều 15 (sửa đổi bởi Nghị định 49/2017/NĐ-CP)"
TT04 = "Thông tư 04/2012/TT-BTTTT"
ND72 = "Nghị định 72/2013/NĐ-CP (sửa đổi, bổ sung bởi Nghị định 27/2018/NĐ-CP)"
PRINT_RULES = "Nghị định 60/2014/NĐ-CP (sửa đổi, bổ sung bởi Nghị định 25/2018/NĐ-CP)"
PUBLISHING_LAW = "Luật Xuất bản 2012"

# code → (title, [(item code, question, legal reference, photo required)])
CHECKLISTS = {
    "prepaid_sim": ("Kiểm tra việc quản lý thông tin thuê bao di động trả trước", [
        ("authorisation", "Điểm cung cấp dịch vụ có hợp đồng ủy quyền (hoặc hợp đồng đại lý) còn hiệu lực với "
         "doanh nghiệp viễn thông để giao kết hợp đồng và đăng ký thông tin thuê bao.", SIM_RULES, False),
        ("fixed_premises", "Điểm cung cấp dịch vụ có địa điểm cố định, địa chỉ rõ ràng; có biển hiệu ghi tên "
         "doanh nghiệp viễn thông, địa chỉ và số điện thoại liên hệ.", SIM_RULES, True),
        ("identity_check", "Người đến giao kết hợp đồng xuất trình bản chính giấy tờ tùy thân (CMND, CCCD, hộ "
         "chiếu) còn thời hạn; nhân viên kiểm tra, đối chiếu và chụp ảnh người đến giao kết.", SIM_RULES, False),
        ("data_complete", "Thông tin thuê bao được nhập đầy đủ, chính xác, đúng với giấy tờ tùy thân vào hệ thống "
         "quản lý thuê bao của doanh nghiệp; phiếu/bản sao giấy tờ được lưu giữ theo quy định.", TT04, False),
        ("three_per_network", "Không đăng ký quá 03 số thuê bao di động trên một giấy tờ tùy thân cho mỗi mạng tại "
         "điểm ủy quyền (từ số thứ tư phải đăng ký tại điểm giao dịch của doanh nghiệp).", SIM_RULES, False),
        ("no_preactivated", "Không bán, lưu thông SIM thuê bao đã được kích hoạt sẵn dịch vụ hoặc đã đăng ký sẵn "
         "thông tin thuê bao.", SIM_RULES, True),
        ("test_purchase", "Kiểm tra xác suất một số thuê bao đã đăng ký tại điểm: thông tin trong hệ thống trùng khớp "
         "với người đang sử dụng.", TT04, False),
    ]),
    "internet_service": ("Kiểm tra việc cung cấp, sử dụng dịch vụ Internet tại đại lý, điểm truy nhập công cộng", [
        ("agency_contract", "Đại lý Internet có hợp đồng đại lý Internet còn hiệu lực với doanh nghiệp cung cấp dịch "
         "vụ truy nhập Internet.", ND72, False),
        ("business_registration", "Có giấy chứng nhận đăng ký kinh doanh dịch vụ đại lý Internet.", ND72, False),
        ("game_certificate", "Trường hợp cung cấp trò chơi điện tử công cộng: có giấy chứng nhận đủ điều kiện hoạt "
         "động điểm cung cấp dịch vụ trò chơi điện tử công cộng còn hiệu lực.", ND72, False),
        ("signboard", "Có biển hiệu “Đại lý Internet” (hoặc “Điểm cung cấp dịch vụ trò chơi điện tử công cộng”) ghi "
         "rõ tên, địa chỉ, số giấy chứng nhận.", ND72, True),
        ("rules_posted", "Niêm yết công khai nội quy sử dụng dịch vụ Internet tại nơi dễ thấy, gồm các hành vi bị "
         "cấm, quyền và nghĩa vụ của người sử dụng, giờ mở cửa.", ND72, True),
        ("opening_hours", "Không cung cấp dịch vụ trò chơi điện tử công cộng trong khoảng từ 22 giờ đến 8 giờ sáng "
         "hôm sau.", ND72, False),
        ("school_distance", "Điểm cung cấp dịch vụ trò chơi điện tử công cộng đặt cách cổng trường tiểu học, trung "
         "học cơ sở, trung học phổ thông từ 200 m trở lên.", ND72, False),
        ("prohibited_content", "Không để người sử dụng truy cập, lưu trữ, truyền đưa thông tin vi phạm pháp luật; "
         "không cung cấp trò chơi điện tử chưa được phê duyệt nội dung.", ND72, False),
    ]),
    "bts_station": ("Kiểm tra việc xây dựng, lắp đặt và vận hành trạm thu phát sóng thông tin di động (BTS)", [
        ("frequency_licence", "Thiết bị phát sóng tại trạm có giấy phép sử dụng tần số vô tuyến điện còn hiệu lực, "
         "đúng tần số, công suất được cấp.", "Luật Tần số vô tuyến điện 2009", False),
        ("construction_permit", "Cột ăng-ten có giấy phép xây dựng hoặc thuộc trường hợp được miễn giấy phép xây dựng "
         "theo quy định.", "Luật Xây dựng 2014; Thông tư liên tịch 15/2016/TTLT-BTTTT-BXD", False),
        ("inspection_certificate", "Trạm đã được kiểm định, có giấy chứng nhận kiểm định còn hiệu lực.",
         "Luật Viễn thông 2009", False),
        ("position_declared", "Vị trí, tọa độ, độ cao cột ăng-ten đúng với hồ sơ doanh nghiệp đã khai báo.",
         "Luật Viễn thông 2009", False),
        ("exposure_safety", "Bảo đảm giới hạn phơi nhiễm trường điện từ; khu vực hạn chế có rào chắn và biển cảnh "
         "báo.", "QCVN 8:2010/BTTTT", True),
        ("lightning_protection", "Hệ thống chống sét, tiếp đất và đèn báo không (đối với cột cao) hoạt động bình "
         "thường.", "QCVN 32:2011/BTTTT", True),
        ("site_sign", "Có biển ghi tên doanh nghiệp, mã trạm và số điện thoại liên hệ tại chân cột hoặc cửa phòng "
         "máy.", "Luật Viễn thông 2009", True),
    ]),
    "publication_distribution": ("Kiểm tra hoạt động phát hành xuất bản phẩm (sách, lịch, tranh, ảnh)", [
        ("registration", "Cơ sở có đăng ký kinh doanh ngành nghề phát hành xuất bản phẩm; đã đăng ký hoạt động "
         "phát hành xuất bản phẩm với Sở Thông tin và Truyền thông (đối với doanh nghiệp, đơn vị sự nghiệp).",
         f"{PUBLISHING_LAW}; Nghị định 195/2013/NĐ-CP", False),
        ("legal_origin", "Xuất bản phẩm đang kinh doanh có nguồn gốc hợp pháp (hóa đơn, chứng từ mua bán).",
         PUBLISHING_LAW, False),
        ("publication_info", "Xuất bản phẩm, kể cả lịch blốc và lịch treo tường, ghi đủ thông tin: tên nhà xuất bản, "
         "số xác nhận đăng ký xuất bản, số quyết định xuất bản, tên và địa chỉ cơ sở in.", PUBLISHING_LAW, True),
        ("no_banned", "Không kinh doanh xuất bản phẩm có quyết định đình chỉ phát hành, thu hồi, tịch thu, cấm lưu "
         "hành hoặc tiêu hủy.", PUBLISHING_LAW, True),
        ("no_pirated", "Không kinh doanh xuất bản phẩm in lậu, in giả, sao chép trái phép.", PUBLISHING_LAW, True),
        ("imported", "Xuất bản phẩm nhập khẩu có nguồn gốc hợp pháp, đã đăng ký nhập khẩu theo quy định.",
         f"{PUBLISHING_LAW}; Nghị định 195/2013/NĐ-CP", False),
        ("calendar_content", "Nội dung lịch không sai lệch về chủ quyền quốc gia, bản đồ, ngày lễ; không có hình ảnh, "
         "nội dung trái thuần phong mỹ tục.", PUBLISHING_LAW, True),
    ]),
    "printing": ("Kiểm tra hoạt động in và dịch vụ photocopy", [
        ("licence", "Cơ sở in có giấy phép hoạt động in (đối với sản phẩm in thuộc diện cấp phép) hoặc đã đăng ký "
         "hoạt động cơ sở in với Sở Thông tin và Truyền thông; thông tin trên giấy phép còn đúng.", PRINT_RULES, False),
        ("equipment_declared", "Thiết bị in (máy in offset, máy in kỹ thuật số, máy photocopy màu) đã được đăng ký "
         "hoặc khai báo theo quy định.", PRINT_RULES, False),
        ("register_book", "Có sổ quản lý ấn phẩm nhận in, ghi đầy đủ tên ấn phẩm, số lượng, khách hàng, số hợp đồng "
         "hoặc phiếu đặt in.", PRINT_RULES, True),
        ("order_documents", "Có hợp đồng in hoặc phiếu đặt in và bản sao giấy phép xuất bản, quyết định xuất bản "
         "hoặc văn bản cho phép tương ứng cho từng sản phẩm nhận in.", f"{PRINT_RULES}; {PUBLISHING_LAW}", False),
        ("no_unlawful_products", "Không in sản phẩm có nội dung bị cấm, xuất bản phẩm in lậu, in giả, in vượt số "
         "lượng cho phép.", f"{PRINT_RULES}; {PUBLISHING_LAW}", True),
        ("manager_training", "Người đứng đầu cơ sở in có giấy chứng nhận bồi dưỡng kiến thức quản lý nhà nước về "
         "hoạt động in.", PRINT_RULES, False),
        ("photocopy_declared", "Cơ sở dịch vụ photocopy đã khai báo hoạt động với Sở Thông tin và Truyền thông; không "
         "photocopy tài liệu có nội dung bị cấm hoặc xuất bản phẩm vi phạm quyền tác giả.", PRINT_RULES, False),
        ("premises", "Ảnh chụp tổng thể cơ sở và khu vực đặt thiết bị in tại thời điểm kiểm tra.", "", True),
    ]),
    "conformity_labelling": ("Kiểm tra công bố hợp quy, nhãn hàng hóa thiết bị viễn thông, công nghệ thông tin", [
        ("conformity_mark", "Thiết bị thuộc danh mục phải chứng nhận và công bố hợp quy có dấu hợp quy trên thiết bị "
         "hoặc bao bì.", "Luật Chất lượng sản phẩm, hàng hóa 2007; Thông tư 30/2011/TT-BTTTT", True),
        ("conformity_documents", "Có bản sao giấy chứng nhận hợp quy và bản công bố hợp quy của sản phẩm đang kinh "
         "doanh.", "Thông tư 30/2011/TT-BTTTT", False),
        ("label_content", "Nhãn hàng hóa ghi đủ nội dung bắt buộc bằng tiếng Việt: tên hàng hóa, tổ chức chịu trách "
         "nhiệm, xuất xứ, thông số kỹ thuật.", "Nghị định 43/2017/NĐ-CP", True),
        ("legal_origin", "Hàng hóa có hóa đơn, chứng từ chứng minh nguồn gốc hợp pháp.",
         "Luật Chất lượng sản phẩm, hàng hóa 2007", False),
        ("radio_equipment", "Thiết bị phát, thu-phát sóng vô tuyến điện (bộ phát Wi-Fi, bộ đàm...) dùng đúng băng "
         "tần được phép, không kinh doanh thiết bị gây nhiễu, thiết bị cấm lưu hành.",
         "Luật Tần số vô tuyến điện 2009", False),
        ("imei_match", "Điện thoại di động có số IMEI hợp lệ, trùng khớp giữa thân máy và vỏ hộp.", "", True),
    ]),
}

# code → [(version, effective from, sanctions decree)]
VERSIONS = {
    "prepaid_sim": [(1, V1_FROM, ND174), (2, ND15_FROM, ND15)],
    "internet_service": [(1, V1_FROM, ND174), (2, ND15_FROM, ND15)],
    "bts_station": [(1, V1_FROM, ND174), (2, ND15_FROM, ND15)],
    "conformity_labelling": [(1, V1_FROM, ND174), (2, ND15_FROM, ND15)],
    "publication_distribution": [(1, V1_FROM, ND159), (2, ND119_FROM, ND119)],
    "printing": [(1, V1_FROM, ND159), (2, ND119_FROM, ND119)],
}


def load(apps, schema_editor):
    CaseType = apps.get_model("cases", "CaseType")
    ChecklistTemplate = apps.get_model("inspections", "ChecklistTemplate")
    ChecklistItem = apps.get_model("inspections", "ChecklistItem")
    for code, (title, items) in CHECKLISTS.items():
        case_type = CaseType.objects.filter(code=code).first()
        if case_type is None:
            continue
        for version, effective_from, sanction_basis in VERSIONS[code]:
            template, created = ChecklistTemplate.objects.get_or_create(
                case_type=case_type, version=version,
                defaults={"title": title, "effective_from": effective_from, "sanction_basis": sanction_basis},
            )
            if not created:
                continue
            ChecklistItem.objects.bulk_create([
                ChecklistItem(template=template, order=order, code=item_code, question=question,
                              legal_reference=reference, photo_required=photo)
                for order, (item_code, question, reference, photo) in enumerate(items, start=1)
            ])


class Migration(migrations.Migration):
    dependencies = [
        ("inspections", "0001_initial"),
        ("cases", "0002_catalogue_roles_timeline_guard"),
    ]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
