"""The interview form offers the notice's red list first (约谈 follows the weekly notice)."""

from reports.notices import content as notice
from reports.notices.forms import InterviewForm
from tests.reports import test_notice
from tests.reports.test_notice import WEEK1, WEEK2

world = test_notice.world


def _groups(form):
    return [(label, [name for _pk, name in options]) for label, options in form.fields["township"].choices[1:]]


def test_the_latest_notices_red_list_comes_first(world):
    notice.notice_issue(campaign=world.campaign, as_of=WEEK1, user=world.admin)
    issued = notice.notice_issue(campaign=world.campaign, as_of=WEEK2, user=world.admin)
    red = [entry["name"] for entry in issued.figures["red_list"]]
    assert red  # 西城 and 南湖 are red on 04-07
    form = InterviewForm(campaign=world.campaign)
    groups = _groups(form)
    assert groups[0] == ("第2期约谈名单（红色预警）", red)
    assert groups[1][0] == "其他乡镇(街道)" and "东城街道" in groups[1][1]
    assert form.initial["notice"] == issued.pk


def test_the_chosen_notices_red_list_comes_first(world):
    first = notice.notice_issue(campaign=world.campaign, as_of=WEEK1, user=world.admin)
    notice.notice_issue(campaign=world.campaign, as_of=WEEK2, user=world.admin)
    form = InterviewForm(campaign=world.campaign, initial={"notice": first.pk})
    assert _groups(form)[0] == ("第1期约谈名单（红色预警）", [e["name"] for e in first.figures["red_list"]])


def test_without_a_notice_every_township_is_offered_plainly_and_any_can_be_saved(world):
    form = InterviewForm(campaign=world.campaign)
    options = form.fields["township"].choices[1:]
    assert all(isinstance(name, str) for _pk, name in options)  # no groups: nothing to put first
    assert sorted(name for _pk, name in options) == sorted(world.towns)
    bound = InterviewForm(
        {"township": world.towns["东城街道"].pk, "held_on": "2018-04-10", "summoned": "镇长"},
        campaign=world.campaign,
    )
    assert bound.is_valid(), bound.errors
