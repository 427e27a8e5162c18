"""The permission matrix: every URL × every role × GET and POST, against one table of outcomes.

Each object in a URL belongs to township A, so the staff_a column is "own township" and staff_b
"other township". A meta-test fails as soon as a URL exists that the table does not list (a new
page must be added here, with who may use it), and another when a view declares no policy.

Outcomes: ok 200 · go 302 somewhere else than the login page · login 302 to the login page ·
403 refused (the Chinese 403 page) · 404 not found (outside the user's scope answers like a
missing object) · 405 method not allowed. POSTs carry no data: a form answers ok with its errors.
"""

import lxml.html
import pytest
from django.conf import settings
from django.db import transaction
from django.urls import URLResolver, get_resolver, reverse

from notify.models import Delivery
from tests.access.conftest import ROLES


@pytest.fixture
def world(world_of_module):
    """The access world built once for the module, each test's writes rolled back (tests/access/conftest.py)."""
    return world_of_module


# Where each URL's arguments come from (every object is township A's); query strings some need.
ARGS = {
    "password_change": {},
    "reports:township": lambda w: {"pk": w.town_a.pk},
    "enterprises:detail": lambda w: {"pk": w.unit_a.pk},
    "enterprises:contact": lambda w: {"pk": w.unit_a.pk},
    "enterprises:edit": lambda w: {"pk": w.unit_a.pk},
    "enterprises:rectify": lambda w: {"pk": w.unit_a.pk},
    "enterprises:relapse": lambda w: {"pk": w.rectified_a.pk},
    "enterprises:delete": lambda w: {"pk": w.unit_a.pk},
    "enterprises:undelete": lambda w: {"pk": w.deleted_a.pk},
    "enterprises:withdraw": lambda w: {"pk": w.rectified_a.pk, "kind": "rectification", "event_pk": w.rectification.pk},
    "enterprises:reinstate": lambda w: {
        "pk": w.rectified_a.pk,
        "kind": "rectification",
        "event_pk": w.rectification.pk,
    },
    "enterprises:photo": lambda w: {"pk": w.rectified_a.pk, "photo_pk": w.photo.pk},
    "audit:object": lambda w: {"model": "enterprises.enterprise", "pk": w.unit_a.pk},
    "audit:restore": lambda w: {"model": "enterprises.enterprise", "pk": w.unit_a.pk, "history_id": w.history_id},
    "imports:preview": lambda w: {"pk": w.batch.pk},
    "imports:confirm": lambda w: {"pk": w.batch.pk},
    "imports:original": lambda w: {"pk": w.batch.pk},
    "report_exports:progress": {"fmt": "xlsx"},
    "report_exports:ledger": lambda w: {"township_pk": w.town_a.pk, "fmt": "csv"},
    "manage:user_edit": lambda w: {"pk": w.target_user.pk},
    "manage:user_password": lambda w: {"pk": w.target_user.pk},
    "manage:user_active": lambda w: {"pk": w.target_user.pk},
    "manage:user_unlock": lambda w: {"pk": w.target_user.pk},
    "manage:township_edit": lambda w: {"pk": w.town_a.pk},
    "manage:village_create": lambda w: {"pk": w.town_a.pk},
    "manage:village_edit": lambda w: {"pk": w.village_a.pk},
    "manage:campaign_edit": lambda w: {"slug": w.campaign.slug},
    "manage:milestones": lambda w: {"slug": w.campaign.slug},
    "manage:targets": lambda w: {"slug": w.campaign.slug},
    "manage:target_add": lambda w: {"slug": w.campaign.slug},
    "manage:indicators": lambda w: {"slug": w.campaign.slug},
    "manage:indicator_create": lambda w: {"slug": w.campaign.slug},
    "manage:indicator_scoring": lambda w: {"slug": w.campaign.slug},
    "manage:indicator_edit": lambda w: {"slug": w.campaign.slug, "key": w.indicator.key},
    "manage:indicator_targets": lambda w: {"slug": w.campaign.slug, "key": w.indicator.key},
    "manage:indicator_target_add": lambda w: {"slug": w.campaign.slug, "key": w.indicator.key},
    "manage:indicator_records": lambda w: {"slug": w.campaign.slug, "key": w.indicator.key},
    "manage:indicator_record_add": lambda w: {"slug": w.campaign.slug, "key": w.indicator.key},
    "manage:indicator_import": lambda w: {"slug": w.campaign.slug, "key": w.indicator.key},
    "manage:indicator_import_confirm": lambda w: {"slug": w.campaign.slug, "key": w.indicator.key},
    "manage:indicator_record_edit": lambda w: {"pk": w.indicator_record.pk},
    "parks:detail": lambda w: {"pk": w.park_a.pk},
    "parks:photo": lambda w: {"pk": w.park_a.pk, "photo_pk": w.park_photo_a.pk},
    "park_entries:stage_photos": lambda w: {"pk": w.park_a.pk},
    "notify:read": lambda w: {
        "pk": Delivery.objects.get(
            user=w.users["staff_a"], channel="inapp", message__key=f"finding_new:{w.finding.pk}"
        ).pk
    },
    "notify:robot_edit": lambda w: {"pk": w.robot.pk},
    "parks:edit": lambda w: {"pk": w.park_a.pk},
    "parks:land_settings": lambda w: {"slug": w.campaign.slug},
    "park_entries:add": lambda w: {"pk": w.park_a.pk},
    "park_entries:detail": lambda w: {"pk": w.entry_a.pk},
    "land:detail": lambda w: {"pk": w.parcel_a.pk},
    "land:edit": lambda w: {"pk": w.parcel_a.pk},
    "parks:zero_township": lambda w: {"slug": w.campaign.slug, "township_pk": w.town_a.pk},
    "parks:zero_village": lambda w: {"slug": w.campaign.slug, "township_pk": w.town_a.pk, "village_pk": w.village_a.pk},
    "inspections:detail": lambda w: {"pk": w.inspection.pk},
    "inspections:photo": lambda w: {"pk": w.inspection.pk, "photo_pk": w.inspection_photo.pk},
    "inspections:follow_up": lambda w: {"pk": w.follow_up.pk},
    "inspections:finding_create": lambda w: {"pk": w.inspection.pk},
    "inspections:finding": lambda w: {"pk": w.finding.pk},
    "inspections:finding_rectified": lambda w: {"pk": w.finding.pk},
    "inspections:finding_verify": lambda w: {"pk": w.finding_done.pk},
    "inspections:finding_photo": lambda w: {"pk": w.finding_done.pk, "photo_pk": w.finding_photo.pk},
    "inspections:round": lambda w: {"pk": w.cross_round.pk},
    "inspections:cross_units": lambda w: {"pk": w.assignment.pk},
    "inspections:cross_unit": lambda w: {"pk": w.assignment.pk, "unit_pk": w.unit_a.pk},
    "inspections:draw": lambda w: {"pk": w.draw.pk},
    "inspections:lookback": lambda w: {"pk": w.lookback.pk},
    "inspections:lookback_photo": lambda w: {"pk": w.lookback.pk, "photo_pk": w.lookback_photo.pk},
    "inspections:clearance": lambda w: {"pk": w.unit_a.pk},
    "inspections:reconciliation": lambda w: {"pk": w.reconciliation.pk},
    "inspections:reconciliation_dispute": lambda w: {"pk": w.reconciliation.pk},
    "inspections:reconciliation_confirm": lambda w: {"pk": w.reconciliation.pk},
    "inspections:reconciliation_resolve": lambda w: {"pk": w.reconciliation_item.pk},
    "inspections:settings": lambda w: {"slug": w.campaign.slug},
    "notices:draft_download": {"fmt": "docx"},
    "notices:detail": lambda w: {"pk": w.notice.pk},
    "notices:download": lambda w: {"pk": w.notice.pk, "fmt": "docx"},
    "notices:interview": lambda w: {"pk": w.interview.pk},
    "notices:commitment_create": lambda w: {"pk": w.interview.pk},
    "notices:commitment": lambda w: {"pk": w.commitment.pk},
    "notices:assessment": lambda w: {"pk": w.assessment.pk},
    "notices:assessment_download": lambda w: {"pk": w.assessment.pk, "fmt": "xlsx"},
}
QUERY = {
    "reports:progress_api": "?campaign=c2018&as_of=2018-03-31",
    "reports:scorecard_api": "?campaign=c2018&as_of=2018-03-31",
    "reports:home": "?campaign=c2018&as_of=2018-06-30",
    "maps:data": "?bbox=119,27,122,31&zoom=9",
    "report_exports:progress": "?campaign=c2018&as_of=2018-03-31",
    "report_exports:ledger": "?campaign=c2018&as_of=2018-03-31",
    "notices:assessment_preview": "?date=2018-06-30",
    "parks:zero": "?campaign=c2018",
    "parks:export": "?campaign=c2018&as_of=2018-06-30",
    "land:list": "?campaign=c2018&as_of=2018-06-30",
    "land:export": "?campaign=c2018&as_of=2018-06-30",
}

# fmt: off
TABLE = """
url name                  method  anon   staff_a staff_b inspector viewer admin disabled
# --- signing in and out, language: public ----------------------------------------------------
login                     GET     ok     ok      ok      ok        ok     ok    ok
login                     POST    ok     ok      ok      ok        ok     ok    ok
logout                    GET     405    405     405     405       405    405   405
logout                    POST    login  login   login   login     login  login login
set_language              GET     go     go      go      go        go     go    go
set_language              POST    go     go      go      go        go     go    go
password_change           GET     login  ok      ok      ok        ok     ok    login
password_change           POST    login  ok      ok      ok        ok     ok    login
# --- the health check for load balancers: public, read-only ------------------------------------
health                    GET     ok     ok      ok      ok        ok     ok    ok
health                    POST    405    405     405     405       405    405   405
# --- the installable app and the offline queue (fieldsync, docs/offline.md) ---------------------
fieldsync:sw              GET     ok     ok      ok      ok        ok     ok    ok
fieldsync:sw              POST    405    405     405     405       405    405   405
fieldsync:manifest        GET     ok     ok      ok      ok        ok     ok    ok
fieldsync:manifest        POST    405    405     405     405       405    405   405
fieldsync:offline         GET     ok     ok      ok      ok        ok     ok    ok
fieldsync:offline         POST    405    405     405     405       405    405   405
fieldsync:queue           GET     login  ok      ok      ok        ok     ok    login
fieldsync:queue           POST    405    405     405     405       405    405   405
fieldsync:session         GET     login  ok      ok      ok        ok     ok    login
fieldsync:session         POST    405    405     405     405       405    405   405
# --- reports: every role reads every township's figures (city-wide rankings) -----------------
reports:dashboard         GET     login  ok      ok      ok        ok     ok    login
reports:dashboard         POST    405    405     405     405       405    405   405
reports:home              GET     login  ok      ok      ok        ok     ok    login
reports:home              POST    405    405     405     405       405    405   405
reports:badges            GET     login  ok      ok      ok        ok     ok    login
reports:badges            POST    405    405     405     405       405    405   405
maps:page                 GET     login  ok      ok      ok        ok     ok    login
maps:page                 POST    405    405     405     405       405    405   405
maps:data                 GET     login  ok      ok      ok        ok     ok    login
maps:data                 POST    405    405     405     405       405    405   405
maps:outlines             GET     login  ok      ok      ok        ok     ok    login
maps:outlines             POST    405    405     405     405       405    405   405
reports:township          GET     login  ok      ok      ok        ok     ok    login
reports:township          POST    405    405     405     405       405    405   405
reports:progress_api      GET     login  ok      ok      ok        ok     ok    login
reports:progress_api      POST    405    405     405     405       405    405   405
reports:scorecard_api     GET     login  ok      ok      ok        ok     ok    login
reports:scorecard_api     POST    405    405     405     405       405    405   405
# --- the unit register: read by all, written by city admins and the unit's own township -----
enterprises:list          GET     login  ok      ok      ok        ok     ok    login
enterprises:list          POST    405    405     405     405       405    405   405
enterprises:export        GET     login  ok      ok      ok        ok     ok    login
enterprises:export        POST    405    405     405     405       405    405   405
enterprises:export_csv    GET     login  ok      ok      ok        ok     ok    login
enterprises:export_csv    POST    405    405     405     405       405    405   405
enterprises:create        GET     login  ok      ok      403       403    ok    login
enterprises:create        POST    login  ok      ok      403       403    ok    login
enterprises:deleted       GET     login  403     403     403       403    ok    login
enterprises:deleted       POST    405    405     405     405       405    405   405
enterprises:detail        GET     login  ok      404     ok        ok     ok    login
enterprises:detail        POST    405    405     405     405       405    405   405
enterprises:contact       GET     login  go      go      go        go     go    login
enterprises:contact       POST    login  ok      404     403       403    ok    login
enterprises:edit          GET     login  ok      404     403       403    ok    login
enterprises:edit          POST    login  ok      404     403       403    ok    login
enterprises:rectify       GET     login  ok      404     403       403    ok    login
enterprises:rectify       POST    login  ok      404     403       403    ok    login
enterprises:relapse       GET     login  ok      404     403       403    ok    login
enterprises:relapse       POST    login  ok      404     403       403    ok    login
enterprises:delete        GET     login  ok      404     403       403    ok    login
enterprises:delete        POST    login  ok      404     403       403    ok    login
enterprises:undelete      GET     login  404     404     403       403    go    login
enterprises:undelete      POST    login  404     404     403       403    go    login
enterprises:withdraw      GET     login  ok      404     403       403    ok    login
enterprises:withdraw      POST    login  ok      404     403       403    ok    login
enterprises:reinstate     GET     login  go      404     403       403    go    login
enterprises:reinstate     POST    login  go      404     403       403    go    login
enterprises:photo         GET     login  ok      404     ok        ok     ok    login
enterprises:photo         POST    405    405     405     405       405    405   405
# --- weekly notices, interviews, quarterly assessments: read by all, issued by city admins; an ----
# --- interview is its township's record (another township's staff: 404) ---------------------------
notices:list              GET     login  ok      ok      ok        ok     ok    login
notices:list              POST    405    405     405     405       405    405   405
notices:preview           GET     login  ok      ok      ok        ok     ok    login
notices:preview           POST    405    405     405     405       405    405   405
notices:draft_download    GET     login  ok      ok      ok        ok     ok    login
notices:draft_download    POST    405    405     405     405       405    405   405
notices:issue             GET     405    405     405     405       405    405   405
notices:issue             POST    login  403     403     403       403    go    login
notices:settings          GET     login  403     403     403       403    ok    login
notices:settings          POST    login  403     403     403       403    ok    login
notices:detail            GET     login  ok      ok      ok        ok     ok    login
notices:detail            POST    405    405     405     405       405    405   405
notices:download          GET     login  ok      ok      ok        ok     ok    login
notices:download          POST    405    405     405     405       405    405   405
notices:interviews        GET     login  ok      ok      ok        ok     ok    login
notices:interviews        POST    405    405     405     405       405    405   405
notices:interview_create  GET     login  403     403     403       403    ok    login
notices:interview_create  POST    login  403     403     403       403    ok    login
notices:interview         GET     login  ok      404     ok        ok     ok    login
notices:interview         POST    405    405     405     405       405    405   405
notices:commitment_create GET     login  403     403     403       403    ok    login
notices:commitment_create POST    login  403     403     403       403    ok    login
notices:commitment        GET     login  403     403     403       403    ok    login
notices:commitment        POST    login  403     403     403       403    ok    login
notices:assessments       GET     login  ok      ok      ok        ok     ok    login
notices:assessments       POST    405    405     405     405       405    405   405
notices:assessment_preview GET    login  ok      ok      ok        ok     ok    login
notices:assessment_preview POST   login  403     403     403       403    ok    login
notices:assessment        GET     login  ok      ok      ok        ok     ok    login
notices:assessment        POST    405    405     405     405       405    405   405
notices:assessment_download GET   login  ok      ok      ok        ok     ok    login
notices:assessment_download POST  405    405     405     405       405    405   405
# --- audit trail: city admins ------------------------------------------------------------------
audit:index               GET     login  403     403     403       403    ok    login
audit:index               POST    405    405     405     405       405    405   405
audit:object              GET     login  403     403     403       403    ok    login
audit:object              POST    405    405     405     405       405    405   405
audit:restore             GET     login  403     403     403       403    go    login
audit:restore             POST    login  403     403     403       403    go    login
report_exports:progress   GET     login  ok      ok      ok        ok     ok    login
report_exports:progress   POST    405    405     405     405       405    405   405
report_exports:ledger     GET     login  ok      ok      ok        ok     ok    login
report_exports:ledger     POST    405    405     405     405       405    405   405
# --- screening-list imports: writers, each their own township's batches ----------------------
imports:upload            GET     login  ok      ok      403       403    ok    login
imports:upload            POST    login  400     400     403       403    400   login
imports:template          GET     login  ok      ok      403       403    ok    login
imports:template          POST    405    405     405     405       405    405   405
imports:history           GET     login  ok      ok      403       403    ok    login
imports:history           POST    405    405     405     405       405    405   405
imports:preview           GET     login  ok      404     403       403    ok    login
imports:preview           POST    405    405     405     405       405    405   405
imports:confirm           GET     405    405     405     405       405    405   405
imports:confirm           POST    login  go      404     403       403    go    login
imports:original          GET     login  ok      404     403       403    ok    login
imports:original          POST    405    405     405     405       405    405   405
# --- management: city admins ---------------------------------------------------------------------
manage:index              GET     login  403     403     403       403    ok    login
manage:index              POST    login  403     403     403       403    ok    login
manage:users              GET     login  403     403     403       403    ok    login
manage:users              POST    login  403     403     403       403    ok    login
manage:user_create        GET     login  403     403     403       403    ok    login
manage:user_create        POST    login  403     403     403       403    ok    login
manage:user_edit          GET     login  403     403     403       403    ok    login
manage:user_edit          POST    login  403     403     403       403    ok    login
manage:user_password      GET     login  403     403     403       403    ok    login
manage:user_password      POST    login  403     403     403       403    ok    login
manage:user_active        GET     405    405     405     405       405    405   405
manage:user_active        POST    login  403     403     403       403    go    login
manage:user_unlock        GET     405    405     405     405       405    405   405
manage:user_unlock        POST    login  403     403     403       403    go    login
manage:townships          GET     login  403     403     403       403    ok    login
manage:townships          POST    login  403     403     403       403    ok    login
manage:township_create    GET     login  403     403     403       403    ok    login
manage:township_create    POST    login  403     403     403       403    ok    login
manage:township_edit      GET     login  403     403     403       403    ok    login
manage:township_edit      POST    login  403     403     403       403    ok    login
manage:village_create     GET     login  403     403     403       403    ok    login
manage:village_create     POST    login  403     403     403       403    ok    login
manage:village_edit       GET     login  403     403     403       403    ok    login
manage:village_edit       POST    login  403     403     403       403    ok    login
manage:campaigns          GET     login  403     403     403       403    ok    login
manage:campaigns          POST    login  403     403     403       403    ok    login
manage:campaign_create    GET     login  403     403     403       403    ok    login
manage:campaign_create    POST    login  403     403     403       403    ok    login
manage:campaign_edit      GET     login  403     403     403       403    ok    login
manage:campaign_edit      POST    login  403     403     403       403    ok    login
manage:milestones         GET     login  403     403     403       403    ok    login
manage:milestones         POST    login  403     403     403       403    ok    login
manage:targets            GET     login  403     403     403       403    ok    login
manage:targets            POST    login  403     403     403       403    ok    login
manage:target_add         GET     login  403     403     403       403    ok    login
manage:target_add         POST    login  403     403     403       403    ok    login
# --- indicators: defined by city admins; records read by all in scope, written by city admins and
# --- the record's own township (another township's record: 404)
manage:indicators                GET     login  403     403     403       403    ok    login
manage:indicators                POST    login  403     403     403       403    ok    login
manage:indicator_create          GET     login  403     403     403       403    ok    login
manage:indicator_create          POST    login  403     403     403       403    ok    login
manage:indicator_scoring         GET     login  403     403     403       403    ok    login
manage:indicator_scoring         POST    login  403     403     403       403    ok    login
manage:indicator_edit            GET     login  403     403     403       403    ok    login
manage:indicator_edit            POST    login  403     403     403       403    ok    login
manage:indicator_targets         GET     login  403     403     403       403    ok    login
manage:indicator_targets         POST    login  403     403     403       403    ok    login
manage:indicator_target_add      GET     login  403     403     403       403    ok    login
manage:indicator_target_add      POST    login  403     403     403       403    ok    login
manage:records_home              GET     login  ok      ok      ok        ok     ok    login
manage:records_home              POST    405    405     405     405       405    405   405
manage:indicator_records         GET     login  ok      ok      ok        ok     ok    login
manage:indicator_records         POST    405    405     405     405       405    405   405
manage:indicator_record_add      GET     login  ok      ok      403       403    ok    login
manage:indicator_record_add      POST    login  ok      ok      403       403    ok    login
manage:indicator_record_edit     GET     login  ok      404     403       403    ok    login
manage:indicator_record_edit     POST    login  ok      404     403       403    ok    login
manage:indicator_import          GET     login  ok      ok      403       403    ok    login
manage:indicator_import          POST    login  400     400     403       403    400   login
manage:indicator_import_confirm  GET     405    405     405     405       405    405   405
manage:indicator_import_confirm  POST    login  go      go      403       403    go    login
# --- parks and 零四无 demonstrations: read by all (a park of another township: 404 for its staff);
# --- parks imported by city admins; a demonstration applied for by its own township, checked by
# --- inspectors and city admins, designated by city admins (the form answers what the user may do)
parks:list                       GET     login  ok      ok      ok        ok     ok    login
parks:list                       POST    405    405     405     405       405    405   405
parks:upload                     GET     login  403     403     403       403    ok    login
parks:upload                     POST    login  403     403     403       403    ok    login
parks:detail                     GET     login  ok      404     ok        ok     ok    login
parks:detail                     POST    405    405     405     405       405    405   405
parks:zero                       GET     login  ok      ok      ok        ok     ok    login
parks:zero                       POST    405    405     405     405       405    405   405
parks:zero_township              GET     login  ok      ok      ok        ok     ok    login
parks:zero_township              POST    login  ok      404     ok        403    ok    login
parks:zero_village               GET     login  ok      ok      ok        ok     ok    login
parks:zero_village               POST    login  ok      404     ok        403    ok    login
# --- the park register and freed land: read by all in scope (another township's park, entry or
# --- parcel: 404 for its staff); written by city admins and the township's own staff; the freed
# --- land settings of a campaign by city admins
parks:export                     GET     login  ok      ok      ok        ok     ok    login
parks:export                     POST    405    405     405     405       405    405   405
parks:edit                       GET     login  ok      404     403       403    ok    login
parks:edit                       POST    login  ok      404     403       403    ok    login
parks:land_settings              GET     login  403     403     403       403    ok    login
parks:land_settings              POST    login  403     403     403       403    ok    login
park_entries:add                 GET     login  ok      404     403       403    ok    login
park_entries:add                 POST    login  ok      404     403       403    ok    login
park_entries:detail              GET     login  ok      404     ok        ok     ok    login
park_entries:detail              POST    login  ok      404     403       403    ok    login
land:list                        GET     login  ok      ok      ok        ok     ok    login
land:list                        POST    405    405     405     405       405    405   405
land:export                      GET     login  ok      ok      ok        ok     ok    login
land:export                      POST    405    405     405     405       405    405   405
land:new                         GET     login  ok      ok      403       403    ok    login
land:new                         POST    login  ok      ok      403       403    ok    login
land:detail                      GET     login  ok      404     ok        ok     ok    login
land:detail                      POST    login  ok      404     403       403    ok    login
land:edit                        GET     login  ok      404     403       403    ok    login
land:edit                        POST    login  ok      404     403       403    ok    login
# --- inspections: read by all in scope; inspectors and city admins record and verify; township B
# --- inspects A in the world's cross round, so staff_b records a cross inspection and reads A read-only
inspections:list                    GET     login  ok      ok      ok        ok     ok    login
inspections:list                    POST    405    405     405     405       405    405   405
inspections:create                  GET     login  403     ok      ok        403    ok    login
inspections:create                  POST    login  403     ok      ok        403    ok    login
inspections:detail                  GET     login  ok      404     ok        ok     ok    login
inspections:detail                  POST    405    405     405     405       405    405   405
inspections:photo                   GET     login  ok      404     ok        ok     ok    login
inspections:photo                   POST    405    405     405     405       405    405   405
inspections:follow_up               GET     login  403     403     ok        403    ok    login
inspections:follow_up               POST    login  403     403     ok        403    ok    login
inspections:finding_create          GET     login  403     404     ok        403    ok    login
inspections:finding_create          POST    login  403     404     ok        403    ok    login
inspections:findings                GET     login  ok      ok      ok        ok     ok    login
inspections:findings                POST    405    405     405     405       405    405   405
inspections:finding                 GET     login  ok      404     ok        ok     ok    login
inspections:finding                 POST    405    405     405     405       405    405   405
inspections:finding_rectified       GET     login  ok      404     403       403    ok    login
inspections:finding_rectified       POST    login  ok      404     403       403    ok    login
inspections:finding_verify          GET     login  403     403     ok        403    ok    login
inspections:finding_verify          POST    login  403     403     ok        403    ok    login
inspections:finding_photo           GET     login  ok      404     ok        ok     ok    login
inspections:finding_photo           POST    405    405     405     405       405    405   405
inspections:rounds                  GET     login  ok      ok      ok        ok     ok    login
inspections:rounds                  POST    405    405     405     405       405    405   405
inspections:round_create            GET     login  403     403     403       403    ok    login
inspections:round_create            POST    login  403     403     403       403    ok    login
inspections:round                   GET     login  ok      ok      ok        ok     ok    login
inspections:round                   POST    405    405     405     405       405    405   405
inspections:unit_search             GET     login  ok      ok      ok        403    ok    login
inspections:unit_search             POST    405    405     405     405       405    405   405
inspections:unit_find               GET     login  ok      ok      ok        403    ok    login
inspections:unit_find               POST    405    405     405     405       405    405   405
inspections:cross_units             GET     login  404     ok      403       403    403   login
inspections:cross_units             POST    405    405     405     405       405    405   405
inspections:cross_unit              GET     login  404     ok      403       403    403   login
inspections:cross_unit              POST    405    405     405     405       405    405   405
inspections:lookbacks               GET     login  ok      ok      ok        ok     ok    login
inspections:lookbacks               POST    405    405     405     405       405    405   405
inspections:lookback                GET     login  ok      404     ok        ok     ok    login
inspections:lookback                POST    login  403     403     ok        403    ok    login
inspections:lookback_photo          GET     login  ok      404     ok        ok     ok    login
inspections:lookback_photo          POST    405    405     405     405       405    405   405
inspections:schedule                GET     login  403     403     ok        403    ok    login
inspections:schedule                POST    login  403     403     ok        403    ok    login
inspections:draw_create             GET     login  403     403     ok        403    ok    login
inspections:draw_create             POST    login  403     403     ok        403    ok    login
inspections:draw                    GET     login  ok      404     ok        ok     ok    login
inspections:draw                    POST    405    405     405     405       405    405   405
inspections:clearance               GET     login  ok      404     ok        ok     ok    login
inspections:clearance               POST    login  ok      404     403       403    ok    login
inspections:reconciliations         GET     login  ok      ok      ok        ok     ok    login
inspections:reconciliations         POST    405    405     405     405       405    405   405
inspections:reconciliation_open     GET     login  ok      ok      403       403    ok    login
inspections:reconciliation_open     POST    login  go      go      403       403    ok    login
inspections:reconciliation          GET     login  ok      404     ok        ok     ok    login
inspections:reconciliation          POST    405    405     405     405       405    405   405
inspections:reconciliation_dispute  GET     405    405     405     405       405    405   405
inspections:reconciliation_dispute  POST    login  ok      404     403       403    403   login
inspections:reconciliation_resolve  GET     405    405     405     405       405    405   405
inspections:reconciliation_resolve  POST    login  403     403     403       403    ok    login
inspections:reconciliation_confirm  GET     405    405     405     405       405    405   405
inspections:reconciliation_confirm  POST    login  go      404     403       403    go    login
inspections:quality                 GET     login  ok      ok      ok        ok     ok    login
inspections:quality                 POST    405    405     405     405       405    405   405
inspections:settings                GET     login  403     403     403       403    ok    login
inspections:settings                POST    login  403     403     403       403    ok    login
# --- park stage photos: read like the park; uploaded by the park's township staff and city admins
parks:photo                      GET     login  ok      404     ok        ok     ok    login
parks:photo                      POST    405    405     405     405       405    405   405
park_entries:stage_photos        GET     405    405     405     405       405    405   405
park_entries:stage_photos        POST    login  go      404     403       403    go    login
# --- reminders: one's own messages and settings; group robots for city admins ---------------
notify:inbox              GET     login  ok      ok      ok        ok     ok    login
notify:inbox              POST    405    405     405     405       405    405   405
notify:unread             GET     login  ok      ok      ok        ok     ok    login
notify:unread             POST    405    405     405     405       405    405   405
notify:read               GET     405    405     405     405       405    405   405
notify:read               POST    login  go      404     404       404    404   login
notify:read_all           GET     405    405     405     405       405    405   405
notify:read_all           POST    login  go      go      go        go     go    login
notify:preferences        GET     login  ok      ok      ok        ok     ok    login
notify:preferences        POST    login  go      go      go        go     go    login
notify:robots             GET     login  403     403     403       403    ok    login
notify:robots             POST    405    405     405     405       405    405   405
notify:robot_create       GET     login  403     403     403       403    ok    login
notify:robot_create       POST    login  403     403     403       403    ok    login
notify:robot_edit         GET     login  403     403     403       403    ok    login
notify:robot_edit         POST    login  403     403     403       403    ok    login
"""
# fmt: on


def parse(table):
    rows = {}
    lines = [line for line in table.strip().splitlines() if line.strip() and not line.startswith("#")]
    header, *body = (line.split() for line in lines)
    assert header[3:] == list(ROLES), header
    for name, method, *outcomes in body:
        assert len(outcomes) == len(ROLES), name
        assert (name, method) not in rows, f"{name} {method} listed twice"
        rows[(name, method)] = dict(zip(ROLES, outcomes, strict=True))
    return rows


EXPECTED = parse(TABLE)
# The Django admin site is exempt from the policy middleware: it checks is_staff itself (tested below).
EXEMPT_NAMESPACES = {"admin"}


def url_patterns(patterns=None, namespaces=()):
    """(full name or None, namespaces, pattern) for every URL pattern the project serves."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            inner = (*namespaces, entry.namespace) if entry.namespace else namespaces
            yield from url_patterns(entry.url_patterns, inner)
        else:
            name = ":".join((*namespaces, entry.name)) if entry.name else None
            yield name, namespaces, entry


def served_names():
    return {name for name, namespaces, _ in url_patterns() if not set(namespaces) & EXEMPT_NAMESPACES}


def outcome(response):
    if response.status_code == 302:
        return "login" if response["Location"].startswith(reverse(settings.LOGIN_URL)) else "go"
    return "ok" if response.status_code == 200 else str(response.status_code)


def url_for(world, name):
    args = ARGS.get(name, {})
    kwargs = args(world) if callable(args) else args
    return reverse(name, kwargs=kwargs) + QUERY.get(name, "")


# --- meta-tests ----------------------------------------------------------------------------------


def test_every_url_the_project_serves_is_in_the_table():
    listed = {name for name, _method in EXPECTED}
    missing = served_names() - listed
    assert not missing, f"add these URLs to the permission table in {__file__}: {sorted(missing)}"


def test_the_table_lists_no_url_that_is_gone():
    listed = {name for name, _method in EXPECTED}
    assert listed - served_names() == set()


def test_the_table_has_a_get_and_a_post_row_for_every_url():
    names = {name for name, _method in EXPECTED}
    assert {(n, m) for n in names for m in ("GET", "POST")} == set(EXPECTED)


def test_every_view_outside_the_admin_declares_who_may_use_it():
    undeclared = [
        f"{name or pattern.pattern}: {pattern.callback.__module__}.{pattern.callback.__name__}"
        for name, namespaces, pattern in url_patterns()
        if not set(namespaces) & EXEMPT_NAMESPACES and getattr(pattern.callback, "access_policy", None) is None
    ]
    assert undeclared == []


def test_the_exempt_admin_site_refuses_everyone_but_staff(world):
    for role in ROLES:
        response = world.clients[role].get(reverse("admin:index"))
        assert response.status_code == 302, role
        assert response["Location"].startswith(reverse("admin:login")), role


# --- the matrix ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "method"), sorted(EXPECTED), ids=[f"{n}-{m}" for n, m in sorted(EXPECTED)])
def test_permission_matrix(world, name, method):
    url = url_for(world, name)
    actual = {}
    for role in ROLES:
        client = world.clients[role]
        # Each request in its own savepoint, undone after: one role's POST never changes what the
        # next role finds.
        with transaction.atomic():
            response = client.get(url) if method == "GET" else client.post(url, {})
            actual[role] = outcome(response)
            transaction.set_rollback(True)
    assert actual == EXPECTED[(name, method)], f"{method} {url}"


# --- panels: what a page shows of objects that have pages of their own ---------------------------
#
# A page shows township A's objects inside panels (the element with the id ``panel``). For every
# role, the panel shows its object (``marker``, text only that object brings) exactly when that role
# may open the object's own page (``object page``, with the ids of ARGS): a panel never shows what
# its object's page refuses. A panel of city-wide figures has the township's own page as its object
# page, which every role may open (SPEC 4: rankings are city-wide).
#
# The report pages and their panels, and what each shows:
#   reports:dashboard    city figures, the focus township's charts, 赛马排名 (#ranking), overdue
#                        findings counted per township (#overdue): all city-wide figures
#   reports:township     its figures, charts and stock ledger (#ledger): ranking figures; its
#                        overdue findings one by one (#overdue: unit, kind, severity, dates) and its
#                        villages (#villages): the township's own records
#   inspections:quality  per township: findings opened, closed, overdue, look-backs, 零四无 (#quality)
#   notices:interviews   interviews and their commitments (#interviews): the township's own records
#   notices:*            the weekly notice and the quarterly assessment: city-wide documents
PANEL_QUERY = "?campaign=c2018&as_of=2018-07-20"  # the world's serious finding is overdue by then

# fmt: off
PANELS = """
page                 panel      object page           marker
reports:township     overdue    inspections:finding   东城宏达五金厂
reports:township     villages   enterprises:detail    东门社区
reports:township     ledger     reports:township      年度累计
reports:dashboard    ranking    reports:township      东城街道
reports:dashboard    overdue    reports:township      东城街道
inspections:quality  quality    reports:township      东城街道
notices:interviews   interviews notices:interview     街道主任
"""
# fmt: on


def parse_panels(table):
    lines = [line.split() for line in table.strip().splitlines()]
    assert lines[0] == ["page", "panel", "object", "page", "marker"], lines[0]
    return [tuple(line) for line in lines[1:]]


def panel_text(response, panel):
    """The text of the element ``panel`` of an HTML page ("" when the page or the element is missing)."""
    if response.status_code != 200:
        return ""
    found = lxml.html.fromstring(response.content.decode()).get_element_by_id(panel, None)
    return "" if found is None else found.text_content()


def test_the_panels_name_pages_the_project_serves():
    for page, _panel, object_page, _marker in parse_panels(PANELS):
        assert {page, object_page} <= served_names()


@pytest.mark.parametrize(
    ("page", "panel", "object_page", "marker"),
    parse_panels(PANELS),
    ids=[f"{p}#{n}" for p, n, *_ in parse_panels(PANELS)],
)
def test_a_panel_shows_an_object_exactly_to_who_may_open_its_page(world, page, panel, object_page, marker):
    page_url = url_for(world, page).split("?")[0] + PANEL_QUERY
    object_url = url_for(world, object_page)
    shows, may_open = {}, {}
    for role in ROLES:
        client = world.clients[role]
        shows[role] = marker in panel_text(client.get(page_url), panel)
        may_open[role] = client.get(object_url).status_code == 200
    assert shows["admin"], f"{marker} is not in #{panel} of {page_url} even for a city admin"
    assert shows == may_open, f"#{panel} of {page_url} against {object_url}"


def test_the_matrix_size():
    """URLs × roles × methods, for the record (and so that a shrinking table is noticed)."""
    names = {name for name, _method in EXPECTED}
    assert len(names) >= 42
    assert len(EXPECTED) * len(ROLES) == len(names) * 2 * 7
