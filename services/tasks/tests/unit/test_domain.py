"""The rules of the comment workflow and permissions, on plain objects."""

import datetime as dt
from types import SimpleNamespace as NS

import pytest

from slate_tasks import domain

NOW = dt.datetime(2026, 12, 4, 12, 0, 0)


def status(**kw):
    base = dict(id="s-wip", is_retake=False, is_wip=False, is_done=False, is_feedback_request=False,
                is_artist_allowed=True, is_client_allowed=True)
    base.update(kw)
    return NS(**base)


def task(**kw):
    base = dict(task_status_id="s-todo", last_comment_date=None, retake_count=0, real_start_date=None)
    base.update(kw)
    return NS(**base)


def test_retake_status_increments_retake_count():
    changes, changed = domain.status_change(task(retake_count=2), status(id="s-retake", is_retake=True), NOW, NOW)
    assert changed and changes["retake_count"] == 3 and changes["task_status_id"] == "s-retake"


def test_first_wip_stamps_real_start_date_once():
    changes, _ = domain.status_change(task(), status(is_wip=True), NOW, NOW)
    assert changes["real_start_date"] == NOW
    changes, _ = domain.status_change(task(real_start_date=NOW - dt.timedelta(days=1)), status(is_wip=True), NOW, NOW)
    assert "real_start_date" not in changes


def test_same_status_comment_only_moves_last_comment_date():
    changes, changed = domain.status_change(task(task_status_id="s-wip"), status(), NOW, NOW)
    assert not changed and changes == {"last_comment_date": NOW}


def test_older_comment_does_not_rewind_the_task():
    changes, changed = domain.status_change(task(last_comment_date=NOW), status(), NOW - dt.timedelta(hours=1), NOW)
    assert (changes, changed) == ({}, False)


def test_feedback_request_sets_end_date_and_done_sets_done_date():
    assert domain.status_dates(status(is_feedback_request=True), NOW) == {"end_date": NOW, "done_date": None}
    assert domain.status_dates(status(is_done=True), NOW) == {"done_date": NOW}
    assert domain.status_dates(status(), NOW) == {"end_date": None, "done_date": None}


def test_retake_cap_from_project_or_entity():
    retake = status(is_retake=True)
    assert not domain.retake_capped(retake, 5, 0, None)
    assert domain.retake_capped(retake, 2, 2, None)
    assert not domain.retake_capped(retake, 2, 2, {"max_retakes": 3})
    assert not domain.retake_capped(status(), 9, 1, None)


def test_status_not_allowed_for_artists_or_clients():
    with pytest.raises(domain.Denied):
        domain.check_status_allowed("user", status(is_artist_allowed=False))
    with pytest.raises(domain.Denied):
        domain.check_status_allowed("client", status(is_client_allowed=False))
    domain.check_status_allowed("manager", status(is_artist_allowed=False, is_client_allowed=False))


def test_task_action_access():
    team = ["a", "s", "m", "c"]
    assert domain.can_act_on_task("admin", "x", [], [], [], None)
    assert domain.can_act_on_task("user", "a", [], team, ["a"], None)
    assert not domain.can_act_on_task("user", "a", [], team, [], None)
    assert not domain.can_act_on_task("user", "a", [], [], ["a"], None)  # not in the team
    assert domain.can_act_on_task("supervisor", "s", ["d1"], team, [], "d1")
    assert not domain.can_act_on_task("supervisor", "s", ["d1"], team, [], "d2")
    assert domain.can_act_on_task("manager", "m", [], team, [], None)
    assert domain.can_act_on_task("client", "c", [], team, [], None)


def test_time_spent_needs_the_assignee():
    assert domain.can_log_time("user", "a", "a", ["a"], True)
    assert not domain.can_log_time("user", "a", "b", ["b"], True)
    assert not domain.can_log_time("admin", "x", "b", [], False)
    assert domain.can_log_time("manager", "m", "b", ["b"], True)
    assert not domain.can_log_time("manager", "m", "b", ["b"], False)


def test_mentions_and_hashtags():
    people = [("1", "Ann Lee"), ("2", "Bob")]
    assert domain.mentions("hi @Ann Lee and @Bob", people) == ["1", "2"]
    assert domain.mentions("hi @Ann Leex", people) == []
    assert domain.hashtags("#layout #Anim") == ["layout", "anim"]
    assert domain.hashtags("#all #layout") == ["all"]


def test_dates():
    assert domain.parse_day("2026-02-03") == dt.date(2026, 2, 3)
    for bad in ("2026-13-01", "x", "2026-2-3", ""):
        with pytest.raises(domain.Bad):
            domain.parse_day(bad)
    assert domain.parse_datetime("2026-02-03 10:11:12") == dt.datetime(2026, 2, 3, 10, 11, 12)
    assert domain.week_bounds(2026, 1)[0].isoweekday() == 1
    assert domain.month_bounds(2026, 12) == (dt.date(2026, 12, 1), dt.date(2026, 12, 31))


def test_effective_role_and_comment_visibility():
    assert domain.effective_role("user", {"p": "supervisor"}, "p") == "supervisor"
    assert domain.effective_role("admin", {"p": "user"}, "p") == "admin"
    assert domain.comment_visible("client", "c", "c2", "client", False, False)
    assert not domain.comment_visible("client", "c", "c2", "client", False, True)
    assert not domain.comment_visible("client", "c", "u", "user", False, False)
    assert domain.comment_visible("client", "c", "u", "user", True, False)
    assert not domain.comment_visible("user", "u", "c", "client", False, False)
    assert domain.comment_visible("supervisor", "s", "c", "client", False, False)
