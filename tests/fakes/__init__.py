"""Local stand-ins for outside services (WeChat's API), shared by the whole suite."""

from tests.fakes.wechat_api import GIVE_UP_S, TOO_LATE, Call, FakeWeChat, Reply, errcode

__all__ = ["GIVE_UP_S", "TOO_LATE", "Call", "FakeWeChat", "Reply", "errcode"]
