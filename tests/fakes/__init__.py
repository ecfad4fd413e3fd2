"""Local stand-ins for outside services (WeChat's API), shared by the whole suite."""

from tests.fakes.wechat_api import Call, FakeWeChat, Reply, errcode

__all__ = ["Call", "FakeWeChat", "Reply", "errcode"]
