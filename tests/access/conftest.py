"""Two townships, their units and one user per role: the world every access test looks at.

Township A (东城街道) owns every object; township B's staff look at A's objects, so the same table
row tells "own township" (A's staff) from "other township" (B's staff).
"""

import copy
import datetime
import hashlib
import shutil
from types import SimpleNamespace

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings

from campaign.indicators import indicator_create
from campaign.models import IndicatorRecord, Park
from enterprises.models import ImportBatch, LandParcel, Method, ParkEntry
from enterprises.parks import stage_photos_attach
from enterprises.photos import attach_photos, clean_photos, store_photos
from enterprises.services import rectification_record, unit_delete
from inspections import services as inspection_services
from inspections.forms import attach_inspection_photos
from inspections.models import CrossAssignment, CrossRound, FindingKind, Kind, LookbackPhoto, Severity
from notify.models import RobotConfig
from reports.models import Commitment, Interview
from reports.notices.content import assessment_freeze, notice_issue
from tests.conftest import module_transaction
from tests.enterprises.test_photos import make_image_bytes
from tests.factories import make_campaign, make_township, make_unit, make_user, make_village, set_target

D = datetime.date
TODAY = D(2018, 6, 30)
PASSWORD = "tongguo-mima-2018"

# Column order of the permission table.
ROLES = ("anon", "staff_a", "staff_b", "inspector", "viewer", "admin", "disabled")


@pytest.fixture
def world(db, frozen_today, settings, tmp_path):
    frozen_today(TODAY)
    settings.MEDIA_ROOT = tmp_path / "media"
    return build_world()


@pytest.fixture(scope="module")
def module_world(django_db_setup, django_db_blocker, tmp_path_factory):
    """The world built once for a test module, in a transaction rolled back after the module's last
    test (see ``world_of_module``)."""
    media = tmp_path_factory.mktemp("world-media")
    with module_transaction(django_db_blocker):
        with (
            django_db_blocker.unblock(),
            pytest.MonkeyPatch.context() as patched,
            override_settings(MEDIA_ROOT=media, PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]),
        ):
            patched.setattr("django.utils.timezone.localdate", lambda *a, **k: TODAY)
            built = build_world()
            sessions = {role: copy.deepcopy(client.cookies) for role, client in built.clients.items()}
        yield built, sessions, media


@pytest.fixture
def world_of_module(module_world, db, frozen_today, settings, tmp_path):
    """``world`` for a module whose tests would each have built it (hundreds of times in the matrix).

    Built once (``module_world``); each test runs in a savepoint on top of it that is rolled back, as
    Django's TestCase.setUpTestData does: the test gets its own copies of the objects, a copy of the
    media folder (a file a test deletes is back for the next), and new clients signed in with the
    world's sessions.
    """
    built, sessions, media = module_world
    frozen_today(TODAY)
    settings.MEDIA_ROOT = shutil.copytree(media, tmp_path / "media")
    clients = {}
    for role, cookies in sessions.items():
        clients[role] = Client()
        clients[role].cookies = copy.deepcopy(cookies)
    return SimpleNamespace(
        **{name: copy.deepcopy(value) for name, value in vars(built).items() if name != "clients"}, clients=clients
    )


def build_world():
    """Township A's objects of every kind, B's few, a user per role and a signed-in client each."""
    campaign = make_campaign()
    town_a, town_b = make_township("东城街道"), make_township("西城街道")
    set_target(campaign, town_a, 30)
    set_target(campaign, town_b, 20)
    village_a, village_b = make_village(town_a, "东门社区"), make_village(town_b, "西门村")
    users = {
        "staff_a": make_user("dongcheng", role="township_staff", township=town_a, password=PASSWORD),
        "staff_b": make_user("xicheng", role="township_staff", township=town_b, password=PASSWORD),
        "inspector": make_user("ducha", role="inspector", password=PASSWORD),
        "viewer": make_user("lingdao", role="city_viewer", password=PASSWORD),
        "admin": make_user("guanli", role="city_admin", password=PASSWORD),
        "disabled": make_user("tingyong", role="township_staff", township=town_a, password=PASSWORD),
    }
    admin = users["admin"]
    unit_a = make_unit(town_a, name="东城宏达五金厂", village=village_a, owner="张三丰", phone="13905710001")
    unit_b = make_unit(town_b, name="西城兴旺小作坊", village=village_b, owner="李四光", phone="13905710002")
    rectified_a = make_unit(town_a, name="东城永利废品站", village=village_a)
    rectification = rectification_record(
        enterprise=rectified_a, method=Method.CLOSED, rectified_on=D(2018, 3, 1), user=admin
    )
    upload = SimpleUploadedFile("现场.jpg", make_image_bytes(), "image/jpeg")
    (photo,) = attach_photos(rectification=rectification, photos=clean_photos([upload]), user=admin)
    deleted_a = make_unit(town_a, name="东城已删除单位")
    unit_delete(enterprise=deleted_a, user=admin, reason="重复登记")
    target_user = make_user("mubiao", role="township_staff", township=town_a, password=PASSWORD)
    screening_list = "单位名称,乡镇街道,无证无照,排查日期\n东城新开小作坊,东城街道,是,2018-05-02\n".encode()
    batch = ImportBatch.objects.create(
        uploaded_by=users["staff_a"],
        township=town_a,
        file=ContentFile(screening_list, name="screening.csv"),
        file_name="排查清单.csv",
        sha256=hashlib.sha256(screening_list).hexdigest(),
        size=len(screening_list),
        rows=1,
        created=1,
    )

    # Inspections of township A: one by an inspector with a photo and a serious finding (which
    # scheduled a follow-up), a finding staff A reported rectified, a cross round in which B inspects
    # A today, a look-back sample of A, and A's reconciliation with one difference raised.
    inspector = users["inspector"]
    inspection = inspection_services.inspection_record(
        kind=Kind.UNANNOUNCED,
        inspected_on=D(2018, 6, 20),
        team="市督查组",
        township=town_a,
        units=[unit_a],
        user=inspector,
    )
    upload = SimpleUploadedFile("督查.jpg", make_image_bytes(), "image/jpeg")
    (inspection_photo,) = attach_inspection_photos(inspection=inspection, photos=clean_photos([upload]), user=inspector)
    finding = inspection_services.finding_record(
        inspection=inspection,
        kind=FindingKind.NOT_DONE,
        severity=Severity.SERIOUS,
        description="消防通道堵塞",
        deadline=D(2018, 7, 15),
        enterprise=unit_a,
        user=inspector,
    )
    finding_done = inspection_services.finding_record(
        inspection=inspection,
        kind=FindingKind.OTHER,
        description="台账不全",
        deadline=D(2018, 7, 5),
        enterprise=unit_a,
        user=inspector,
    )
    upload = SimpleUploadedFile("整改.jpg", make_image_bytes(), "image/jpeg")
    inspection_services.finding_rectified(
        finding=finding_done,
        rectified_on=D(2018, 6, 25),
        note="已补齐",
        photos=clean_photos([upload]),
        user=users["staff_a"],
    )
    finding_photo = finding_done.photos.get()
    cross_round = CrossRound.objects.create(
        campaign=campaign,
        name="第二轮交叉督查",
        held_on=D(2018, 6, 1),
        ends_on=D(2018, 7, 31),
        seed=1,
        created_by=admin,
    )
    assignment = CrossAssignment.objects.create(round=cross_round, inspecting=town_b, inspected=town_a)
    draw = inspection_services.lookback_draw(campaign=campaign, township=town_a, as_of=TODAY, seed=7, user=inspector)
    lookback = draw.lookbacks.get()
    look = SimpleUploadedFile("回头看.jpg", make_image_bytes(color=(10, 20, 30)), "image/jpeg")
    (lookback_photo,) = store_photos(
        clean_photos([look]), lambda **fields: LookbackPhoto.objects.create(lookback=lookback, **fields)
    )
    reconciliation = inspection_services.reconciliation_open(township=town_a, user=users["staff_a"])
    reconciliation_item = inspection_services.reconciliation_dispute(
        reconciliation=reconciliation, description="宏达五金厂已停产", enterprise=unit_a, user=users["staff_a"]
    )

    with pytest.MonkeyPatch.context() as patched:
        # Real figures, stand-in files: drawing the chart and writing .docx for each of the matrix's
        # ~700 cases would cost most of the suite's time, and access does not depend on the bytes.
        patched.setattr(
            "reports.notices.content.render", lambda content, fmt: f"{fmt} of the permission matrix".encode()
        )
        notice = notice_issue(campaign=campaign, as_of=D(2018, 6, 29), user=admin)
        assessment = assessment_freeze(campaign=campaign, milestone_date=D(2018, 3, 31), verdict="总体达标", user=admin)
    interview = Interview.objects.create(
        campaign=campaign, township=town_a, notice=notice, held_on=TODAY, summoned="街道主任 王某某", created_by=admin
    )
    commitment = Commitment.objects.create(interview=interview, text="七月底前完成剩余单位整治", due_on=D(2018, 7, 31))
    # An indicator whose records townships keep, and one record of township A's.
    indicator = indicator_create(campaign, "new_jobs", 100, name="新增就业", unit="人", user=admin)
    indicator_record = IndicatorRecord.objects.create(
        indicator=indicator, township=town_a, name="东城新增就业项目", date=D(2018, 5, 2), created_by=users["staff_a"]
    )

    park_a = Park.objects.create(township=town_a, name="东城小微园", started_on=D(2018, 4, 1), started_mu=50)
    entry_a = ParkEntry.objects.create(park=park_a, name="东城入园五金厂", entered_on=D(2018, 5, 1))
    parcel_a = LandParcel.objects.create(township=town_a, name="东城旧厂地块", area_mu=12, freed_on=D(2018, 2, 1))
    (park_photo_a,) = stage_photos_attach(
        park=park_a,
        stage="started",
        photos=clean_photos([SimpleUploadedFile("开工.jpg", make_image_bytes(), "image/jpeg")]),
        user=admin,
    )
    robot = RobotConfig.objects.create(
        channel="wecom", township=town_a, webhook="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=x"
    )

    clients = {"anon": Client()}
    for role, user in users.items():
        clients[role] = Client()
        clients[role].force_login(user)
    # Disabled after signing in: the session is still there, the account is not.
    users["disabled"].is_active = False
    users["disabled"].save()

    return SimpleNamespace(
        campaign=campaign,
        town_a=town_a,
        town_b=town_b,
        village_a=village_a,
        village_b=village_b,
        users=users,
        clients=clients,
        unit_a=unit_a,
        unit_b=unit_b,
        rectified_a=rectified_a,
        rectification=rectification,
        photo=photo,
        deleted_a=deleted_a,
        target_user=target_user,
        batch=batch,
        history_id=unit_a.history.earliest().history_id,
        inspection=inspection,
        inspection_photo=inspection_photo,
        finding=finding,
        follow_up=finding.follow_ups.get(),
        finding_done=finding_done,
        finding_photo=finding_photo,
        cross_round=cross_round,
        assignment=assignment,
        draw=draw,
        lookback=lookback,
        lookback_photo=lookback_photo,
        reconciliation=reconciliation,
        reconciliation_item=reconciliation_item,
        notice=notice,
        interview=interview,
        commitment=commitment,
        assessment=assessment,
        indicator=indicator,
        indicator_record=indicator_record,
        park_a=park_a,
        entry_a=entry_a,
        parcel_a=parcel_a,
        park_photo_a=park_photo_a,
        robot=robot,
    )
