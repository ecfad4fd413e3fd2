"""The console's words for the frame every page shares (brand, sign-in, refusals, roles) and the
menu: key -> (Chinese, English)."""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    # Frame
    "brand": ("会员俱乐部管理台", "Member club console"),
    "console": ("管理台", "Console"),
    "skip_to_content": ("跳到正文", "Skip to content"),
    "main_menu": ("主菜单", "Main menu"),
    "language": ("语言", "Language"),
    "sign_in": ("登录", "Sign in"),
    "sign_in_title": ("员工登录", "Staff sign-in"),
    "sign_out": ("退出", "Sign out"),
    "staff_name": ("员工账号", "Staff account"),
    "password": ("密码", "Password"),
    "login_wrong": (
        "账号或密码不正确。连续输错 {n} 次账号将被暂时锁定。",
        "Wrong account or password. {n} wrong passwords in a row lock the account for a while.",
    ),
    "login_locked": (
        "密码错误次数过多，账号已锁定，请于 {until} 之后再试，或请管理员重设密码。",
        "Too many wrong passwords: the account is locked until {until}, or until an admin sets "
        "a new password.",
    ),
    "csrf_refused": (
        "表单已失效（缺少或错误的安全令牌），未做任何更改。请返回重新提交。",
        "The form was refused (its security token is missing or wrong); nothing was changed. "
        "Go back and send it again.",
    ),
    "forbidden_role": (
        "{role}角色无权查看此页面或执行此操作。",
        "The {role} role may not do this.",
    ),
    "forbidden_other_qr": (
        "只能查看自己的二维码（页面顶部的「我的二维码」）；其他员工的二维码由管理员查看。",
        "You may open your own QR code only (“My QR code” at the top of the page); another "
        "staff member's is for admins.",
    ),
    "not_found": ("找不到此页面。", "No such page."),
    "back_home": ("返回首页", "Back to the start page"),
    "role": ("角色", "Role"),
    "role_admin": ("管理员", "admin"),
    "role_marketer": ("市场", "marketer"),
    "role_clerk": ("店员", "clerk"),
    # Menu
    "nav_dashboard": ("概览", "Dashboard"),
    "nav_members": ("会员", "Members"),
    "nav_purchases": ("消费录入", "Purchases"),
    "nav_rewards": ("礼品", "Rewards"),
    "nav_campaigns": ("营销活动", "Campaigns"),
    "nav_reports": ("报表", "Reports"),
    "nav_tickets": ("客服工单", "Tickets"),
    "nav_key_customers": ("重点客户维护", "Key customers"),
    "nav_stores": ("门店", "Stores"),
    "nav_codes": ("瓶盖码", "Bottle codes"),
    "nav_programme": ("会员计划", "Programme"),
    "nav_staff": ("员工", "Staff"),
    "nav_jobs": ("定时任务", "Scheduled jobs"),
}
