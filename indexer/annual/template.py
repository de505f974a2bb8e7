"""The standard annual-report tables (国办公开办函〔2019〕60号, revised by 〔2021〕30号) as data:
row keys, the labels that find them, and the columns.

A label is a short distinctive start of the printed row name, matched with any whitespace
between its characters (PDF text and Word exports break labels anywhere); the numbered
rows are also matched by their number, which text renderings glue to the previous row's
digits ("…00000002.其他法律…"). Labels stop before words that portals misprint (one PDF
has "其他法律行政止公开").
"""

from __future__ import annotations

# Applicant columns of table 三, in printed order; the first six add up to `total`.
REQUEST_COLUMNS = ("natural_person", "commercial", "research", "public_interest",
                   "legal_services", "other_org", "total")

# Table 三's rows: (key, number printed before the label or "", label start).
# (六)其他处理 is one row in the 2019 template and three numbered rows in the 2021 one;
# `OTHER_SPLIT` and `OTHER_SINGLE` are the two shapes.
_HEAD_ROWS = (
    ("new", "", "一、本年新收"),
    ("carried_over", "", "二、上年结转"),
    ("granted", "", "（一）予以公开"),
    ("partly_granted", "", "（二）部分公开"),
    ("denied_1", "1", "属于国家秘密"),
    ("denied_2", "2", "其他法律"),
    ("denied_3", "3", "危及"),
    ("denied_4", "4", "保护第三方"),
    ("denied_5", "5", "属于三类内部"),
    ("denied_6", "6", "属于四类过程"),
    ("denied_7", "7", "属于行政执法"),
    ("denied_8", "8", "属于行政查询"),
    ("unable_1", "1", "本机关不掌握"),
    ("unable_2", "2", "没有现成信息"),
    ("unable_3", "3", "补正后申请"),
    ("not_processed_1", "1", "信访举报投诉"),
    ("not_processed_2", "2", "重复申请"),
    ("not_processed_3", "3", "要求提供公开出版物"),
    ("not_processed_4", "4", "无正当理由大量"),
    ("not_processed_5", "5", "要求行政机关确认"),
)
OTHER_SPLIT = (
    ("other_1", "1", "申请人无正当理由逾期不补正"),
    ("other_2", "2", "申请人逾期未按收费"),
    ("other_3", "3", "其他"),
)
OTHER_SINGLE = (("other", "", "（六）其他处理"),)
_TAIL_ROWS = (
    ("closed", "", "（七）总计"),
    ("carried_forward", "", "结转下年度"),
)


def request_rows(other_split: bool) -> tuple[tuple[str, str, str], ...]:
    return _HEAD_ROWS + (OTHER_SPLIT if other_split else OTHER_SINGLE) + _TAIL_ROWS


# Every result row of 三、本年度办理结果: together they add up to (七)总计.
def result_rows(keys) -> list[str]:
    return [k for k in keys if k not in ("new", "carried_over", "closed", "carried_forward")]


# Table 四: 行政复议, then 行政诉讼 未经复议直接起诉 and 复议后起诉, five columns each.
APPEAL_GROUPS = ("review", "suit_direct", "suit_after_review")
APPEAL_COLUMNS = ("upheld", "corrected", "other", "pending", "total")

# Table 二, per template: (item key, label start, columns). The 2021 template counts
# documents issued / repealed / in force and the year's decisions; the 2019 one counted
# documents made / published / published in all and last year's items ± this year's.
PROACTIVE = {
    "2021": (
        ("rules", "规章", ("issued", "repealed", "in_force")),
        ("normative_documents", "规范性文件", ("issued", "repealed", "in_force")),
        ("licensing", "行政许可", ("decisions",)),
        ("penalties", "行政处罚", ("decisions",)),
        ("enforcement", "行政强制", ("decisions",)),
        ("fees", "行政事业性收费", ("amount",)),
    ),
    "2019": (
        ("rules", "规章", ("made", "published", "total_published")),
        ("normative_documents", "规范性文件", ("made", "published", "total_published")),
        ("licensing", "行政许可", ("items_last_year", "change", "decisions")),
        ("other_services", "其他对外管理服务事项", ("items_last_year", "change", "decisions")),
        ("penalties", "行政处罚", ("items_last_year", "change", "decisions")),
        ("enforcement", "行政强制", ("items_last_year", "change", "decisions")),
        ("fees", "行政事业性收费", ("items_last_year", "change")),
        ("procurement", "政府集中采购", ("items", "amount")),
    ),
}

# Section headings of the template (also what recognises a report without its title).
SECTION_PROACTIVE = "主动公开政府信息情况"
SECTION_REQUESTS = "收到和处理政府信息公开申请情况"
SECTION_APPEALS = "政府信息公开行政复议"
SECTION_PROBLEMS = "存在的主要问题及改进情况"
SECTIONS = (SECTION_PROACTIVE, SECTION_REQUESTS, SECTION_APPEALS, SECTION_PROBLEMS)

# Printed names, for pages that show the tables as the report prints them.
ROW_LABELS = {
    "new": "一、本年新收政府信息公开申请数量", "carried_over": "二、上年结转政府信息公开申请数量",
    "granted": "（一）予以公开", "partly_granted": "（二）部分公开",
    "denied_1": "（三）不予公开 1.属于国家秘密", "denied_2": "2.其他法律行政法规禁止公开",
    "denied_3": "3.危及“三安全一稳定”", "denied_4": "4.保护第三方合法权益",
    "denied_5": "5.属于三类内部事务信息", "denied_6": "6.属于四类过程性信息",
    "denied_7": "7.属于行政执法案卷", "denied_8": "8.属于行政查询事项",
    "unable_1": "（四）无法提供 1.本机关不掌握相关政府信息", "unable_2": "2.没有现成信息需要另行制作",
    "unable_3": "3.补正后申请内容仍不明确",
    "not_processed_1": "（五）不予处理 1.信访举报投诉类申请", "not_processed_2": "2.重复申请",
    "not_processed_3": "3.要求提供公开出版物", "not_processed_4": "4.无正当理由大量反复申请",
    "not_processed_5": "5.要求行政机关确认或重新出具已获取信息",
    "other": "（六）其他处理",
    "other_1": "（六）其他处理 1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
    "other_2": "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
    "other_3": "3.其他", "closed": "（七）总计", "carried_forward": "四、结转下年度继续办理",
}
COLUMN_LABELS = {
    "natural_person": "自然人", "commercial": "商业企业", "research": "科研机构",
    "public_interest": "社会公益组织", "legal_services": "法律服务机构", "other_org": "其他",
    "total": "总计",
    "upheld": "结果维持", "corrected": "结果纠正", "other": "其他结果", "pending": "尚未审结",
    "issued": "本年制发件数", "repealed": "本年废止件数", "in_force": "现行有效件数",
    "decisions": "处理决定数量", "amount": "金额", "made": "本年新制作数量",
    "published": "本年新公开数量", "total_published": "对外公开总数量",
    "items_last_year": "上一年项目数量", "change": "本年增/减", "items": "采购项目数量",
}
ITEM_LABELS = {
    "rules": "规章", "normative_documents": "行政规范性文件", "licensing": "行政许可",
    "other_services": "其他对外管理服务事项", "penalties": "行政处罚", "enforcement": "行政强制",
    "fees": "行政事业性收费", "procurement": "政府集中采购",
}
GROUP_LABELS = {"review": "行政复议", "suit_direct": "行政诉讼 · 未经复议直接起诉",
                "suit_after_review": "行政诉讼 · 复议后起诉"}
