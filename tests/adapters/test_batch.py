from __future__ import annotations

from adapters.batch import DistinctRecipients
from adapters.nhn.config import NhnSmsConfig
from adapters.nhn.sms import NhnSmsAdapter
from adapters.solapi.adapter import SolapiLmsAdapter
from adapters.solapi.config import SolapiConfig
from gateway.models import OutboundMessage


def lms(phone: str) -> OutboundMessage:
    return OutboundMessage(channel="lms", user_id="u", phone=phone, subject="s", content="본문")


def test_nhn_names_its_recipient_by_number_so_a_request_never_holds_one_twice() -> None:
    nhn = NhnSmsAdapter(NhnSmsConfig(appkey="a", secret="s", send_no="15446859"))

    assert isinstance(nhn, DistinctRecipients)
    assert nhn.recipient_key(lms("01000000001")) == nhn.recipient_key(lms("01000000001"))
    assert nhn.recipient_key(lms("01000000001")) != nhn.recipient_key(lms("01000000002"))


def test_solapi_takes_one_number_twice_in_a_request() -> None:
    solapi = SolapiLmsAdapter(SolapiConfig(api_key="k", api_secret="s", pf_id="p", send_no="0212345678"))

    assert not isinstance(solapi, DistinctRecipients)
