"""The release history filters: what `previous` means, what a rollback does, what pruning keeps."""

import pytest
from ansible.errors import AnsibleFilterError
from hypothesis import given
from hypothesis import strategies as st

import releases as f

IDS = st.lists(st.sampled_from(["a1", "b2", "c3", "d4", "e5", "f6", "g7"]), unique=True)


def test_history_parses_ids_and_skips_blanks_and_comments():
    assert f.release_history("# deployed\n\na1\n b2 \nc3\n") == ["a1", "b2", "c3"]
    assert f.release_history("") == [] and f.release_history(None) == []


def test_history_refuses_a_line_that_is_not_an_id():
    with pytest.raises(AnsibleFilterError, match="line 2: '../etc' is not a release id"):
        f.release_history("a1\n../etc\n")


def test_activate_moves_the_release_to_the_end():
    assert f.release_activate(["a1", "b2"], "c3") == ["a1", "b2", "c3"]
    assert f.release_activate(["a1", "b2", "c3"], "a1") == ["b2", "c3", "a1"]
    with pytest.raises(AnsibleFilterError, match="not a release id"):
        f.release_activate([], "x/y")


def test_known_appends_a_live_release_the_history_lacks_and_keeps_the_order():
    assert f.release_known(["c8", "e0"], "c9") == ["c8", "e0", "c9"]
    assert f.release_known(["e0", "c8", "a1"], "c8") == ["e0", "c8", "a1"], "order kept, nothing moved"
    assert f.release_known(["a1"], "") == ["a1"]
    assert f.release_known([], "a1") == ["a1"]


def test_previous_is_the_entry_before_current():
    assert f.release_previous(["a1", "b2", "c3"], "c3") == "b2"
    assert f.release_previous(["a1", "b2", "c3"], "b2") == "a1"
    assert f.release_previous(["a1"], "a1") == ""
    assert f.release_previous([], "") == ""


def test_previous_of_a_release_switched_by_hand_is_the_newest_other_entry():
    assert f.release_previous(["a1", "b2"], "zz") == "b2"


def test_rollback_pops_the_release_it_leaves():
    history = ["a1", "b2", "c3"]
    once = f.release_rollback(history, "c3")
    assert once == ["a1", "b2"]
    assert f.release_previous(once, "b2") == "a1", "a second rollback goes further back"
    assert f.release_rollback(once, "b2") == ["a1"]
    with pytest.raises(AnsibleFilterError, match="no previous release"):
        f.release_rollback(["a1"], "a1")


def test_rollback_from_the_middle_makes_the_previous_one_current():
    assert f.release_rollback(["a1", "b2", "c3"], "b2") == ["c3", "a1"]


def test_prune_keeps_the_newest_and_never_current_or_previous():
    dirs = ["a1", "b2", "c3", "d4", "e5", "failed"]
    history = ["a1", "b2", "c3", "d4", "e5"]
    assert f.release_prune(dirs, history, "e5", 3) == ["a1", "b2", "failed"]
    # Rolled back to b2: its previous (a1) and itself stay whatever their age.
    assert f.release_prune(dirs, ["a1", "b2"], "b2", 2) == ["c3", "d4", "e5", "failed"]
    assert f.release_prune(dirs, history, "a1", 2) == ["b2", "c3", "failed"]


def test_prune_refuses_to_keep_fewer_than_two():
    with pytest.raises(AnsibleFilterError, match="keep at least 2"):
        f.release_prune(["a1"], ["a1"], "a1", 1)
    with pytest.raises(AnsibleFilterError, match="must be an integer"):
        f.release_prune(["a1"], ["a1"], "a1", "many")


def test_history_text_round_trips():
    assert f.release_history(f.release_history_text(["a1", "b2"])) == ["a1", "b2"]
    assert f.release_history_text([]) == ""


@given(IDS, st.integers(min_value=2, max_value=8))
def test_prune_never_deletes_current_previous_or_the_newest(history, keep):
    dirs = history + ["stray"]
    current = history[-1] if history else ""
    deleted = set(f.release_prune(dirs, history, current, keep))
    assert current not in deleted
    assert f.release_previous(history, current) not in deleted
    assert not deleted & set(history[-keep:])
    assert "stray" in deleted
    assert len(set(dirs) - deleted) <= keep + 1


@given(IDS.filter(lambda h: len(h) >= 2))
def test_deploy_then_rollback_returns_to_where_it_was(history):
    current = history[-1]
    deployed = f.release_activate(history, "new9")
    assert f.release_previous(deployed, "new9") == current
    assert f.release_rollback(deployed, "new9") == history
