"""The console's words for stores: the list, creating and editing one, the CSV import: key ->
(Chinese, English)."""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    # Stores
    "stores_listed": ("门店（{n} 家）", "Stores ({n})"),
    "store_code": ("门店编码", "Store code"),
    "stores_first": ("（仅显示前 {n} 家，请用筛选缩小范围）", "(the first {n}: filter to narrow)"),
    "edit": ("修改", "Edit"),
    "store_name": ("门店名称", "Store name"),
    "region": ("区域", "Region"),
    "store_open": ("营业中", "open"),
    "store_closed": ("已关闭", "closed"),
    "store_close": ("关闭", "Close"),
    "store_reopen": ("重新开业", "Reopen"),
    "new_store": ("新增门店", "New store"),
    "create": ("创建", "Create"),
    "stores_hint": (
        "更改渠道层级会记入门店的层级历史：历史销售仍按当天的层级统计。",
        "A level change is kept in the store's history: past sales count at the level of their "
        "day.",
    ),
    "store_created": ("门店 {id}（{name}）已创建。", "Store {id} ({name}) created."),
    "store_updated": ("门店 {id} 已更新。", "Store {id} updated."),
    "store_closed_note": ("门店 {id} 已关闭。", "Store {id} closed."),
    "store_reopened": ("门店 {id} 已重新开业。", "Store {id} reopened."),
    "import_stores": ("导入门店（CSV）", "Import stores (CSV)"),
    "import_file": ("CSV 文件", "CSV file"),
    "import_upload": ("上传并导入", "Upload and import"),
    "import_hint": (
        "表头为 id,name,channel_level，可加 region；层级可写代码或中文名称（如 重点客户）。"
        "Excel 请另存为「CSV UTF-8」。已有的门店按文件更新；同一文件再导入不会有任何改动。"
        "任何一行有错时整个文件都不导入，并指出出错的行。文件最大 {mib} MiB。",
        "A header naming id, name, channel_level and optionally region; a level by its code or "
        "its Chinese name (重点客户). From Excel, save as 'CSV UTF-8'. Stores already there "
        "are updated; the same file again changes nothing. A bad line is named and nothing of "
        "the file is imported. At most {mib} MiB.",
    ),
    "stores_imported": (
        "已导入：新增 {created} 家门店，更新 {updated} 家，未变 {unchanged} 家。",
        "Imported: {created} stores added, {updated} updated, {unchanged} unchanged.",
    ),
    "upload_too_large": (
        "文件太大：最多 {mib} MiB，未做任何更改。请拆成几个文件分别导入。",
        "The file is too large: at most {mib} MiB. Nothing was changed; split it into parts.",
    ),
}
