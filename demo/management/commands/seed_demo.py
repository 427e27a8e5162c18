from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from campaign.models import Campaign
from core.management.base import SpecCommand
from demo import city as demo
from reports.progress import progress_report


class Command(SpecCommand):
    help = "Seed a deterministic demo city (示范市) with the 2018 campaign, its units and demo logins."

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing when a campaign already exists (for `make run`)"
        )
        parser.add_argument("--seed", type=int, default=demo.DEFAULT_SEED, help="random seed (default %(default)s)")
        parser.add_argument(
            "--scale",
            type=float,
            default=1.0,
            help="multiply every count; 1 reproduces the 2018 record (about 11,000 units)",
        )

    def handle(self, *args, if_empty, seed, scale, **options):
        if if_empty and Campaign.objects.exists():
            self.stdout.write("已有整治行动，未生成演示数据（--if-empty）。")
            self._logins(only_existing=True)
            return
        if not 0 < scale <= 1000:
            raise CommandError("--scale 须为 0 至 1000 之间的正数")
        try:
            summary = demo.seed_demo(seed=seed, scale=scale)
        except demo.NotEmpty as exc:
            raise CommandError(f"{exc}：演示数据只能写入空数据库（或使用 --if-empty）") from None
        campaign = summary.campaign
        report = progress_report(campaign, demo.Q1_END)
        self.stdout.write(
            f"已生成演示数据（{demo.CITY_NAME}，seed {seed}，scale {scale:g}）：{summary.townships} 个乡镇（街道）、"
            f"{summary.villages} 个村（社区）、{summary.units} 家四无单位、{summary.rectifications} 条整治记录、"
            f"{summary.relapses} 起死灰复燃、{summary.inspections} 次督查，用时 {summary.seconds:.1f} 秒。"
        )
        extra = summary.addition
        self.stdout.write(
            f"加法：{extra.indicators} 个考核指标、{extra.parks} 个小微园、{extra.entries} 家入园企业、"
            f"{extra.parcels} 宗腾退土地、{extra.records} 条指标记录、{extra.demonstrations} 个零四无示范创建。"
        )
        self.stdout.write(
            f"{campaign.name}：全市年度任务 {campaign.target}；截至 {demo.Q1_END:%Y-%m-%d} 已整治 "
            f"{report.city.rectified} 家（完成率 {report.city.rate}%），一季度新排查 {report.city.identified} 家。"
        )
        self._logins(only_existing=False, created=summary.users_created)

    def _logins(self, *, only_existing, created=()):
        present = set(
            get_user_model()
            .objects.filter(username__in=[u.username for u in demo.DEMO_USERS])
            .values_list("username", flat=True)
        )
        users = [u for u in demo.DEMO_USERS if u.username in present]
        if not users:
            return
        self.stdout.write("")
        if only_existing:
            self.stdout.write("演示账号（密码如未修改）：")
        else:
            self.stdout.write("演示账号（仅限演示环境）：")
        self.stdout.write(f"  {'用户名':<10}{'密码':<20}角色")
        for user in users:
            note = "" if only_existing or user.username in created else "（账号已存在，密码未修改）"
            self.stdout.write(f"  {user.username:<13}{user.password:<22}{user.role}{note}")
