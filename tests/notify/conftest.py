import pytest

from notify.models import RobotConfig
from tests.factories import make_township, make_user
from tests.notify.robots import SECRET, RobotServer


@pytest.fixture
def robot_server():
    server = RobotServer().start()
    yield server
    server.stop()


@pytest.fixture
def town(db):
    return make_township("东城街道")


@pytest.fixture
def staff(town):
    user = make_user("dongcheng", role="township_staff", township=town, email="dc@example.cn")
    user.profile.phone = "13800000001"
    user.profile.save()
    return user


@pytest.fixture
def robots(robot_server, town):
    """Both robots configured for the township."""
    return [
        RobotConfig.objects.create(channel="dingtalk", township=town, webhook=robot_server.dingtalk_url, secret=SECRET),
        RobotConfig.objects.create(channel="wecom", township=town, webhook=robot_server.wecom_url),
    ]
