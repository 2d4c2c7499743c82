import base64
import hashlib
import hmac

import pytest

from connector.errors import BadSignature
from connector.inbound.signatures import verify_jira, verify_servicenow

VECTOR_SECRET = "It's a Secret to Everybody"
VECTOR_BODY = b"Hello World!"
VECTOR_SIGNATURE = "sha256=a4771c39fbe90f317c7824e83ddef3caae9cb3d976c214ace1f2937e133263c9"


def test_jira_signature_matches_the_published_test_vector():
    verify_jira({"X-Hub-Signature": VECTOR_SIGNATURE}, VECTOR_BODY, VECTOR_SECRET)


def test_jira_signature_header_name_is_case_insensitive():
    verify_jira({"x-hub-signature": VECTOR_SIGNATURE}, VECTOR_BODY, VECTOR_SECRET)


def test_jira_signature_over_a_different_body_is_refused():
    with pytest.raises(BadSignature, match="does not match"):
        verify_jira({"X-Hub-Signature": VECTOR_SIGNATURE}, b"Hello World?", VECTOR_SECRET)


@pytest.mark.parametrize("prefix", ["sha1", "md5", "SHA512", ""])
def test_jira_signature_with_another_method_is_refused(prefix):
    digest = VECTOR_SIGNATURE.split("=", 1)[1]
    with pytest.raises(BadSignature, match="sha256="):
        verify_jira({"X-Hub-Signature": f"{prefix}={digest}"}, VECTOR_BODY, VECTOR_SECRET)


def test_jira_delivery_without_signature_is_refused():
    with pytest.raises(BadSignature, match="missing X-Hub-Signature"):
        verify_jira({}, VECTOR_BODY, VECTOR_SECRET)


def test_refusal_never_reveals_the_secret_or_the_expected_signature():
    with pytest.raises(BadSignature) as caught:
        verify_jira({"X-Hub-Signature": "sha256=00"}, VECTOR_BODY, VECTOR_SECRET)
    message = str(caught.value)
    assert VECTOR_SECRET not in message
    assert VECTOR_SIGNATURE.split("=", 1)[1] not in message


def test_unsigned_data_center_delivery_is_accepted_with_the_configured_url_token():
    verify_jira({}, VECTOR_BODY, None, url_token="dc-token-1", expected_token="dc-token-1")


def test_unsigned_data_center_delivery_with_a_wrong_url_token_is_refused():
    with pytest.raises(BadSignature, match="token does not match"):
        verify_jira({}, VECTOR_BODY, "secret", url_token="guess", expected_token="dc-token-1")


def test_url_token_is_refused_when_no_token_is_configured():
    with pytest.raises(BadSignature):
        verify_jira({}, VECTOR_BODY, None, url_token="anything", expected_token=None)


def test_signed_delivery_is_checked_by_signature_even_when_a_token_is_configured():
    with pytest.raises(BadSignature, match="does not match"):
        verify_jira(
            {"X-Hub-Signature": "sha256=00"},
            VECTOR_BODY,
            VECTOR_SECRET,
            url_token="dc-token-1",
            expected_token="dc-token-1",
        )


def servicenow_signature(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def test_servicenow_base64_signature_is_accepted():
    body = b'{"event_id": "x"}'
    verify_servicenow({"X-ECM-Signature": servicenow_signature("s3cret", body)}, body, "s3cret")


def test_servicenow_signature_made_with_another_secret_is_refused():
    body = b'{"event_id": "x"}'
    with pytest.raises(BadSignature, match="does not match"):
        verify_servicenow({"X-ECM-Signature": servicenow_signature("other", body)}, body, "s3cret")


@pytest.mark.parametrize("headers", [{}, {"X-ECM-Signature": "not base64!"}])
def test_servicenow_delivery_without_a_readable_signature_is_refused(headers):
    with pytest.raises(BadSignature):
        verify_servicenow(headers, b"{}", "s3cret")
