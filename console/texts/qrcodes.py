"""The console's words for the QR codes of stores and staff: key -> (Chinese, English)."""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    # QR codes of stores and staff
    "qr_code": ("二维码", "QR code"),
    "my_qr_code": ("我的二维码", "My QR code"),
    "qr_title_store": ("门店二维码：{name}", "Store QR code: {name}"),
    "qr_title_staff": ("员工二维码：{name}", "Staff QR code: {name}"),
    "qr_alt": ("{name}的二维码", "QR code of {name}"),
    "qr_scene": ("场景值", "Scene"),
    "qr_holds": ("二维码内容", "The code holds"),
    "qr_download_png": ("下载 PNG（打印用）", "Download PNG (to print)"),
    "qr_download_svg": ("下载 SVG（任意尺寸）", "Download SVG (any size)"),
    "qr_wechat_image": ("微信生成的原图", "WeChat's own image of the code"),
    "qr_no_url": (
        "微信未给出二维码内容，请使用微信生成的原图。",
        "WeChat gave no content for the code: use WeChat's own image.",
    ),
    "qr_not_made": (
        "还没有二维码。二维码通过微信生成一次，永久有效。",
        "No QR code yet. It is made once, through WeChat, and never expires.",
    ),
    "qr_make": ("生成二维码", "Make the QR code"),
    "qr_made": ("二维码已生成。", "QR code made."),
    "qr_about_store": (
        "消费者扫码关注公众号后，记录为由该门店带来的会员。",
        "A consumer who follows the account through it is recorded as brought by this store.",
    ),
    "qr_about_staff": (
        "消费者扫码关注公众号后，记录为由该员工带来的会员。",
        "A consumer who follows the account through it is recorded as brought by this staff "
        "member.",
    ),
}
