"""The console's words for staff accounts: key -> (Chinese, English)."""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    # Staff accounts
    "staff_accounts": ("员工账号", "Staff accounts"),
    "console_access": ("管理台登录", "Console sign-in"),
    "last_seen": ("最近使用 API", "Last API use"),
    "inactive": ("已停用", "deactivated"),
    "locked_until": ("锁定至 {until}", "locked until {until}"),
    "yes": ("可登录", "yes"),
    "no_password": ("未设密码", "no password"),
    "set_password": ("设置密码", "Set password"),
    "set_password_hint": (
        "密码 10–128 个字符。设置后该员工原有的登录会话立即失效，锁定也随之解除。",
        "10-128 characters. Setting it ends the account's open sessions at once and lifts a "
        "lock-out.",
    ),
    "new_password": ("新密码", "New password"),
    "password_set": ("已为 {name} 设置新密码。", "New password set for {name}."),
}
