"""Conformance of the connector's Jira requests to Atlassian's OpenAPI document.

`recorder` captures every request a sandbox Jira receives, at the WSGI boundary; `judge` checks the
ones the connector's gateway built against the document (and the few endpoints it lacks against
schemas of their own, in `offdocument`); `plugin` turns recording on for the whole test session and
fails any test whose requests do not conform.
"""
