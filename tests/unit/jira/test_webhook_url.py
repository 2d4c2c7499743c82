"""The Data Center webhook URL: the token is added once, replaced when it changes, and never shown."""

from __future__ import annotations

from connector.jira.installer import shown_url, with_token, without_token


def test_the_token_is_added_to_a_url_with_or_without_a_query():
    assert (
        with_token("https://ecm.example.com/webhooks/jira", "t1")
        == "https://ecm.example.com/webhooks/jira?token=t1"
    )
    assert with_token("https://ecm.example.com/hook?a=1", "t1") == "https://ecm.example.com/hook?a=1&token=t1"


def test_an_old_token_is_replaced_not_repeated():
    assert (
        with_token("https://ecm.example.com/hook?token=old&a=1", "new")
        == "https://ecm.example.com/hook?a=1&token=new"
    )


def test_output_shows_the_token_as_a_placeholder():
    assert (
        shown_url("https://ecm.example.com/hook?a=1&token=s3cr3t")
        == "https://ecm.example.com/hook?a=1&token=(secret)"
    )
    assert (
        shown_url("https://ecm.example.com/hook?token=s3cr3t#x")
        == "https://ecm.example.com/hook?token=(secret)#x"
    )
    assert without_token("https://ecm.example.com/hook?token=s3cr3t") == "https://ecm.example.com/hook"
