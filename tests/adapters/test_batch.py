from __future__ import annotations

from adapters.batch import BatchItem, DistinctRecipients, distinct_requests
from adapters.nhn.config import NhnSmsConfig
from adapters.nhn.sms import NhnSmsAdapter
from adapters.solapi.adapter import SolapiLmsAdapter
from adapters.solapi.config import SolapiConfig
from gateway.models import OutboundMessage


def item(number: str, index: int) -> BatchItem:
    message = OutboundMessage(channel="lms", user_id="u", phone=number, subject="s", content="본문")
    return BatchItem(message=message, message_id=f"gw-{index}", send_key=f"key-{index}")


ITEMS = [item(number, i) for i, number in enumerate(["01000000001", "01000000002", "01000000001", "01000000001"])]


def test_a_repeated_recipient_goes_to_the_first_request_without_it_keeping_the_order() -> None:
    adapter = NhnSmsAdapter(NhnSmsConfig(appkey="a", secret="s", send_no="15446859"))

    requests = distinct_requests(adapter, ITEMS)

    assert [[i.message_id for i in request] for request in requests] == [["gw-0", "gw-1"], ["gw-2"], ["gw-3"]]


def test_a_batch_without_repeats_or_an_adapter_that_takes_them_stays_one_request() -> None:
    solapi = SolapiLmsAdapter(SolapiConfig(api_key="k", api_secret="s", pf_id="p", send_no="0212345678"))
    nhn = NhnSmsAdapter(NhnSmsConfig(appkey="a", secret="s", send_no="15446859"))

    assert not isinstance(solapi, DistinctRecipients)
    assert distinct_requests(solapi, ITEMS) == [ITEMS]
    assert distinct_requests(nhn, ITEMS[:2]) == [ITEMS[:2]]
