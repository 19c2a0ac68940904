"""The scenario's subscribers resolve as R19 says for the records of the sample files."""

import datetime as dt

import pytest

from subscribers.selectors import TermIndex, subscription_term_at

pytestmark = pytest.mark.django_db


def at(text: str, offset: str) -> dt.datetime:
    """Parse a CDR's event_time and utc_offset into an aware instant."""
    local = dt.datetime.strptime(text, "%Y%m%d%H%M%S")
    sign = 1 if offset[0] == "+" else -1
    delta = dt.timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])) * sign
    return local.replace(tzinfo=dt.timezone(delta))


@pytest.mark.parametrize(
    ("record", "msisdn", "imsi", "event_time", "offset", "expected"),
    [
        ("A1", "4915112340001", "262031234500001", "20261005090000", "+0200", None),
        ("B2", "4915112340002", "262031234500002", "20261014120000", "+0200",
         "INACTIVE_SUBSCRIPTION"),
        ("B1", "4915112340002", "262031234500002", "20261016100000", "+0200", None),
        ("C3", "4915112340003", "262031234500003", "20261019235950", "+0200", None),
        ("C2", "4915112340003", "262031234500003", "20261021100000", "+0200",
         "INACTIVE_SUBSCRIPTION"),
        ("U1", "4915199990000", "262039999900000", "20261019100000", "+0200",
         "UNKNOWN_SUBSCRIBER"),
        ("A by IMSI only", "", "262031234500001", "20261005090000", "+0200", None),
        ("A number with B's IMSI", "4915112340001", "262031234500002", "20261016100000",
         "+0200", "UNKNOWN_SUBSCRIBER"),
    ],
)  # fmt: skip
def test_golden_records_resolve_their_subscriber(
    golden_subscribers, record, msisdn, imsi, event_time, offset, expected
):
    term, reason = subscription_term_at(msisdn=msisdn, imsi=imsi, instant=at(event_time, offset))
    assert reason == expected, record
    assert (term is None) == (expected is not None)


def test_term_index_answers_a_batch_with_one_query(golden_subscribers, django_assert_num_queries):
    with django_assert_num_queries(1):
        index = TermIndex.load(
            msisdns=["4915112340001", "4915112340002", "4915112340003"], imsis=[]
        )
    term, _ = index.resolve(msisdn="4915112340002", instant=at("20261016100000", "+0200"))
    assert term.subscription_id == golden_subscribers.subscriptions["B"].pk
