"""`motcua test`: which arguments select tests (one run, as given) and which only say how to run them."""

from motcua_cli.test_cmd import selects


def test_flags_that_only_say_how_keep_the_two_phases():
    assert not selects([])
    assert not selects(["-q", "-x", "-ra", "--durations=30", "-p", "no:cacheprovider", "--tb", "short"])


def test_a_path_a_node_or_a_selection_is_one_run_as_given():
    assert selects(["tests/test_acl.py"])
    assert selects(["-q", "tests/test_acl.py::test_wrong_password_and_anonymous_are_refused"])
    assert selects(["-k", "acl"]) and selects(["-m", "kivy"]) and selects(["--lf"])
    assert selects(["-n", "2"]) and selects(["--numprocesses=2"])
