"""bcrypt runs in a native thread: the eventlet hub keeps serving meanwhile."""

import eventlet
from slate_auth import domain


def test_other_greenthreads_run_while_a_password_is_checked():
    hashed = domain.hash_password("a-long-password")
    ticks = []
    done = []

    def ticker():
        while not done:
            ticks.append(1)
            eventlet.sleep(0.005)

    gt = eventlet.spawn(ticker)
    eventlet.sleep(0)  # let the ticker start
    before = len(ticks)
    assert domain.check_password("a-long-password", hashed) is True
    during = len(ticks) - before
    done.append(True)
    gt.wait()
    # bcrypt (~0.2 s) blocked the hub before: the ticker could not run at all.
    assert during >= 3
    assert domain.check_password("wrong-password", hashed) is False
    assert domain.check_password("anything", None) is False
