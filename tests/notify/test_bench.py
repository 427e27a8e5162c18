"""The worker's speed: 1,000 robot messages to the local endpoint in 10 s at most (issue 23).

Run with ``-s`` to see the figure: ``notify bench: 1000 sent in 2.1 s (476/s)``.
"""

import time

from notify import worker
from notify.models import Delivery, State
from notify.outbox import enqueue

COUNT = 1000


def test_the_worker_sends_1000_messages_in_10_seconds(staff, robots, robot_server, settings):
    settings.NOTIFY_CHANNELS = {"dingtalk": "notify.channels.robots.DingTalkChannel"}
    for n in range(COUNT):
        enqueue("finding_new", [staff], title=f"新的督查问题 {n}", body="整改期限2018-05-10。", link=f"/f/{n}/")
    assert Delivery.objects.filter(state=State.PENDING).count() == COUNT
    started = time.perf_counter()
    counts = worker.run_once(batch=50)
    elapsed = time.perf_counter() - started
    print(f"\nnotify bench: {counts['sent']} sent in {elapsed:.2f} s ({counts['sent'] / elapsed:.0f}/s)")
    assert counts["sent"] == COUNT
    assert len(robot_server.accepted) == COUNT and all(problem is None for *_, problem in robot_server.requests)
    assert elapsed <= 10
