"""A member the club blocked (after a fraud review) earns and redeems nothing.

Pure: standard library only, so every concept that earns or spends (codes, points, sales,
rewards) can refuse a blocked member without depending on the members package. The block is the
member's status `blocked`: greetings and messages already skip that status, and following or
unfollowing again does not lift it (`club.members.contact`). The chat tells the member to
contact the club.
"""

from __future__ import annotations

BLOCKED = "blocked"
"""The member status (`MemberStatus.BLOCKED`, a string enum) of a blocked member."""


class MemberBlocked(Exception):
    def __init__(self, member_id: int) -> None:
        super().__init__(f"member {member_id} is blocked: they earn and redeem nothing")
        self.member_id = member_id


def is_blocked(status: str | None) -> bool:
    return status == BLOCKED
