"""The columns of a screening list (SPEC section 3): per column the key code knows it by, its
Chinese header in the file, whether it is required, and any other header accepted for it
(``core.tabular.read_columns`` finds them in a file by header or by key)."""

from core.tabular import Column

COLUMNS = (
    Column("name", "单位名称", required=True),
    Column("credit_code", "统一社会信用代码"),
    Column("township", "乡镇街道", required=True),
    Column("village", "村社区"),
    Column("grid", "网格"),
    Column("address", "地址"),
    Column("owner", "负责人"),
    Column("phone", "联系电话"),
    Column("industry", "行业"),
    Column("premises", "场所类型"),
    Column("unlicensed", "无证无照"),
    Column("unsafe", "无安全保障"),
    Column("no_legal_premises", "无合法场所"),
    Column("no_env_measures", "无环保措施"),
    Column("identified_on", "排查日期", required=True),
    Column("source", "来源"),
    Column("status", "整治状态"),
    Column("method", "整治方式"),
    Column("rectified_on", "整治完成日期"),
    Column("demolished_m2", "拆除面积", aliases=("拆除面积m2", "拆除面积平方米")),
    # SPEC 5: the park (by name, in any township) a unit rectified by 搬迁入园 moved into.
    Column("park", "入驻园区", aliases=("入驻小微园",)),
    # Optional: the unit's position (WGS-84 degrees, docs/map.md) and its 盯梢人.
    Column("longitude", "经度"),
    Column("latitude", "纬度"),
    Column("watcher_name", "盯梢人"),
    Column("watcher_phone", "盯梢人电话"),
)
HEADERS = {column.key: column.header for column in COLUMNS}
TEXT_FIELDS = ("grid", "owner", "industry", "premises")  # plain text copied as it is
POSITION_FIELDS = ("longitude", "latitude")  # both or neither
MAP_FIELDS = ("watcher_name", "watcher_phone", *POSITION_FIELDS)  # written only when a list has them
