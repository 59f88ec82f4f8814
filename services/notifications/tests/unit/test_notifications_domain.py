"""Who gets notified: Zou's rules in plain Python."""

from slate_notifications import domain


def test_comment_notifies_assignees_and_subscribers_but_not_the_author():
    assert domain.comment_recipients(["a", "author"], ["s"], ["q", "a"], "author") == ["a", "s", "q"]


def test_reply_adds_repliers_and_the_comment_author_but_not_the_replier():
    got = domain.reply_recipients(["a"], [], [], [{"person_id": "r1"}, {"person_id": "me"}], "c", "me")
    assert sorted(got) == ["a", "c", "r1"]
    assert "c" not in domain.reply_recipients([], [], [], [], "c", "c")


def test_mentions_include_department_members_of_the_team_not_the_author():
    team = {"x": ["dep1"], "y": ["dep2"], "author": ["dep1"]}
    assert sorted(domain.mentioned(["m"], ["dep1"], team, "author")) == ["m", "x"]
