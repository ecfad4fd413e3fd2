"""A member the club blocked (after a fraud review) earns and redeems nothing.

The block is the member's status `blocked`: greetings and messages already skip that status, and
following or unfollowing again does not lift it (`club.members.contact`). Earning and redeeming
refuse it with `MemberBlocked`; the chat tells the member to contact the club.
"""

from __future__ import annotations

from club.db.models.members import MemberStatus


class MemberBlocked(Exception):
    def __init__(self, member_id: int) -> None:
        super().__init__(f"member {member_id} is blocked: they earn and redeem nothing")
        self.member_id = member_id


def is_blocked(status: MemberStatus | str | None) -> bool:
    return status == MemberStatus.BLOCKED
