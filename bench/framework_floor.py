"""python -m bench.framework_floor [--seconds 10] [--rounds 2]

Finding submission against a trivial JSON view on the same gunicorn (2 workers), all driven by wrk on loopback
in the same run, in alternating rounds. The tablets' hot path is POST /api/v1/inspections/findings/batch/: after
a visit the tablet sends that visit's findings together (one print shop's checklist is 8 items; tablet.js sends
up to 50 per request). Every finding sent is new (its own uuid), every one is checked and stored.

The trivial view is a DRF view behind the same token authentication that answers a POST with a constant JSON
body: the floor every API request stands on. Target: findings stored per second ≥ 0.5 × the trivial view's
requests per second. Also printed, for reference: single-finding POSTs (one finding per request) and a plain
Django JSON view (no DRF, no authentication).
"""

import argparse
import os
import re
import subprocess
import tempfile
from datetime import timedelta

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"  # the product plus the trivial view

from bench._server import gunicorn, token_for  # noqa: E402
from bench._setup import django_setup, summary  # noqa: E402

LUA_COMMON = """
local counter = 0
local targets = {%(targets)s}
local items = {%(items)s}
local threads = {}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  math.randomseed(tid * 7919)
end
"""

LUA = LUA_COMMON + """
request = function()
  counter = counter + 1
  local body = string.format(
    '{"uuid":"%%08x-%%04x-4000-8000-%%012x","target":%%d,"item":%%d,"result":"compliant",' ..
    '"note":"Đã kiểm tra sổ quản lý ấn phẩm.","latitude":20.4463129,"longitude":106.3421871,"accuracy":8.5,' ..
    '"device_time":"%(device_time)s"}',
    %(run)d, tid, counter, targets[math.random(#targets)], items[math.random(#items)])
  return wrk.format("POST", "/api/v1/inspections/findings/", {
    ["Content-Type"] = "application/json", ["Authorization"] = "Token %(token)s"}, body)
end
"""


def campaign_in_field():
    """An inspection campaign with 20 print shops, walked to field work through the product's services."""
    from django.contrib.auth.models import Group, User
    from django.utils import timezone

    from cases import services as case_services
    from inspections import services
    from inspections.models import Campaign, Establishment

    def user(name, group):
        account, created = User.objects.get_or_create(username=name)
        if created:
            account.set_password("bench-pass-1234")
            account.save()
            account.groups.add(Group.objects.get(name=group))
        return account

    lead, inspector = user("bench_lead", "inspection_lead"), user("bench_inspector", "inspector")
    campaign = Campaign.objects.filter(case__subject_name="Kiểm tra hoạt động in (benchmark)").first()
    if campaign is None:
        from cases.competence import agencies_competent
        from cases.models import CaseType

        # The shops are entries of the registry of the agency that inspects printing today (the campaign's).
        agency = agencies_competent(case_type=CaseType.objects.get(code="printing"), day=timezone.localdate()).first()
        shops = [Establishment.objects.create(agency=agency, kind=Establishment.Kind.PRINT_SHOP, name=f"Cơ sở in {n}",
                                              address=f"Số {n} Lý Bôn, TP Thái Bình")
                 for n in range(1, 21)]
        campaign, _ = services.campaign_plan(
            actor=lead, case_type="printing", title="Kiểm tra hoạt động in (benchmark)",
            legal_basis="Luật Xuất bản 2012; Nghị định 60/2014/NĐ-CP", scope="Các cơ sở in trên địa bàn TP Thái Bình",
            period_start=timezone.localdate(), period_end=timezone.localdate() + timedelta(days=30), lead=lead,
            members=[inspector], targets=[services.TargetPlan(establishment=e, inspectors=(inspector,)) for e in shops])
        for action in ("announce", "start_fieldwork"):
            case_services.case_transition(case_id=campaign.case_id, actor=lead, action=action)
        campaign.refresh_from_db()
    return campaign, inspector


BATCH_LUA = LUA_COMMON + """
request = function()
  local target = targets[math.random(#targets)]
  local parts = {}
  for i = 1, #items do
    counter = counter + 1
    parts[i] = string.format(
      '{"uuid":"%%08x-%%04x-4000-8000-%%012x","target":%%d,"item":%%d,"result":"compliant",' ..
      '"note":"Đã kiểm tra sổ quản lý ấn phẩm.","latitude":20.4463129,"longitude":106.3421871,"accuracy":8.5,' ..
      '"device_time":"%(device_time)s"}', %(run)d, tid, counter, target, items[i])
  end
  return wrk.format("POST", "/api/v1/inspections/findings/batch/", {
    ["Content-Type"] = "application/json", ["Authorization"] = "Token %(token)s"},
    '{"findings":[' .. table.concat(parts, ",") .. ']}')
end
"""

TRIVIAL_LUA = """
request = function()
  return wrk.format("POST", "/bench/trivial/", {["Content-Type"] = "application/json",
                    ["Authorization"] = "Token %(token)s"}, '{"status":"ok"}')
end
"""


def wrk(url: str, seconds: int, script: str | None = None) -> tuple[float, int, int]:
    """Requests per second, requests, non-2xx responses."""
    command = ["wrk", "-t1", "-c4", f"-d{seconds}s", "--latency"]
    if script:
        command += ["-s", script]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return rate, total, int(bad.group(1)) if bad else 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    django_setup()
    from django.utils import timezone

    from inspections.models import Finding

    campaign, inspector = campaign_in_field()
    token = token_for(inspector.username)
    targets = ",".join(str(pk) for pk in campaign.targets.values_list("pk", flat=True))
    items = ",".join(str(pk) for pk in campaign.checklist.items.values_list("pk", flat=True))
    device_time = (timezone.localtime() - timedelta(minutes=5)).replace(microsecond=0).isoformat()
    plain_rates, trivial_rates, finding_rates, batch_rates, sent, refused, lost = [], [], [], [], 0, 0, 0
    per_batch = campaign.checklist.items.count()
    before = Finding.objects.count()
    with gunicorn() as base, tempfile.TemporaryDirectory() as tmp:
        trivial_script = os.path.join(tmp, "trivial.lua")
        with open(trivial_script, "w") as out:
            out.write(TRIVIAL_LUA % {"token": token})

        def findings_script(run: int, template: str = LUA) -> str:
            path = os.path.join(tmp, f"findings{run}.lua")
            with open(path, "w") as out:  # a run number of its own: every finding of every round is new
                out.write(template % {"targets": targets, "items": items, "token": token, "device_time": device_time,
                                      "run": (os.getpid() * 100 + run) % 0xFFFFFFFF})
            return path

        wrk(f"{base}/bench/plain/", 2)  # warm-up
        wrk(f"{base}/bench/trivial/", 2, trivial_script)
        wrk(f"{base}/api/v1/inspections/findings/", 2, findings_script(99))
        wrk(f"{base}/api/v1/inspections/findings/batch/", 2, findings_script(98, BATCH_LUA))
        for round_no in range(args.rounds):
            plain_rates.append(wrk(f"{base}/bench/plain/", args.seconds)[0])
            rate, _total, bad = wrk(f"{base}/bench/trivial/", args.seconds, trivial_script)
            trivial_rates.append(rate)
            refused += bad
            start_count = Finding.objects.count()
            rate, total, bad = wrk(f"{base}/api/v1/inspections/findings/", args.seconds, findings_script(round_no))
            finding_rates.append(rate)
            stored = Finding.objects.count() - start_count
            sent, refused, lost = sent + total, refused + bad, lost + max(0, total - bad - stored)
            start_count = Finding.objects.count()
            batch_rate, batches, bad = wrk(f"{base}/api/v1/inspections/findings/batch/", args.seconds,
                                           findings_script(50 + round_no, BATCH_LUA))
            batch_rates.append(batch_rate * per_batch)
            stored_batch = Finding.objects.count() - start_count
            refused, lost = refused + bad, lost + max(0, (batches - bad) * per_batch - stored_batch)
            print(f"  round {round_no + 1}: plain Django {plain_rates[-1]:.0f} req/s, trivial DRF view "
                  f"{trivial_rates[-1]:.0f} req/s; single findings {rate:.0f}/s ({total} answered, {stored} stored); "
                  f"batches of {per_batch} {batch_rate:.0f} req/s = {batch_rates[-1]:.0f} findings/s "
                  f"({batches} answered, {stored_batch} findings stored)")
    plain, trivial = max(plain_rates), max(trivial_rates)
    single, batched = max(finding_rates), max(batch_rates)
    ratio = batched / trivial
    print(f"framework floor: best of {args.rounds} rounds of {args.seconds} s each (wrk -t1 -c4): plain Django "
          f"view {plain:.0f} req/s, trivial DRF view {trivial:.0f} req/s; findings sent as the tablets send them "
          f"(a visit's {per_batch} per batch) {batched:.0f} findings/s, one per request {single:.0f}/s "
          f"(single / trivial = {single / trivial:.2f}); {Finding.objects.count() - before:,} findings stored in "
          f"all, {refused} answers not 2xx, {lost} answered but not stored")
    summary("framework floor (findings/s in batches / trivial req/s)", f"{ratio:.2f}", "≥ 0.50",
            ratio >= 0.5 and refused == 0 and lost == 0)
    summary("  for reference: one finding per request / trivial", f"{single / trivial:.2f}", "(none)", True)


if __name__ == "__main__":
    main()
